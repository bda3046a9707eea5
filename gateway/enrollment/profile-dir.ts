/**
 * Writing a terminal profile directory (API.md, terminal profile) without
 * ever replacing one: the directory is created exclusively (mkdir fails with
 * EEXIST when the name is taken, atomically, so two enrollments of one name
 * cannot both win) and every file is created with O_EXCL, its mode set
 * explicitly (the open mode is masked by umask) and fsynced
 * (card-io/base/durable/atomic-file.ts, createFileExclusive).
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createFileExclusive, isErrno } from '../../card-io/base/durable/atomic-file.js';
import { EnrollmentError } from '../../provisioning/enrollment-error.js';

export const PROFILE_DIR_MODE = 0o700;
export const KEY_FILE_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;

/** Create `dir` (0700) and its parents; EnrollmentError('profile-exists') if it exists. */
export async function createProfileDir(dir: string): Promise<void> {
  await mkdir(dirname(dir), { recursive: true, mode: PROFILE_DIR_MODE });
  try {
    await mkdir(dir, { mode: PROFILE_DIR_MODE });
  } catch (e) {
    if (isErrno(e, 'EEXIST')) {
      throw new EnrollmentError('profile-exists', `A terminal profile exists at ${dir}; remove it first to enroll again`, { dir });
    }
    throw e;
  }
  await chmod(dir, PROFILE_DIR_MODE);
}

/** Create `dir/file` exclusively with `mode`, durably (the caller fsyncs `dir` after its last file). */
export function writeNewFile(dir: string, file: string, content: string, mode: number): Promise<void> {
  return createFileExclusive(join(dir, file), content, mode);
}

/** Undo a half-written profile (only ever a directory this enrollment created). */
export async function removeProfileDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
