/**
 * Writing a terminal profile directory (API.md, terminal profile) without
 * ever replacing one: the directory is created exclusively (mkdir fails with
 * EEXIST when the name is taken, atomically, so two enrollments of one name
 * cannot both win) and every file is created with O_EXCL, its mode set
 * explicitly (the open mode is masked by umask) and fsynced.
 */
import { chmod, mkdir, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EnrollmentError } from './enrollment-error.js';

export const PROFILE_DIR_MODE = 0o700;
export const KEY_FILE_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;

function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === code;
}

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

/** Create `dir/file` exclusively with `mode`, durably. */
export async function writeNewFile(dir: string, file: string, content: string, mode: number): Promise<void> {
  const fh = await open(join(dir, file), 'wx', mode);
  try {
    await fh.chmod(mode);
    await fh.writeFile(content, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Make the directory entries themselves durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Undo a half-written profile (only ever a directory this enrollment created). */
export async function removeProfileDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
