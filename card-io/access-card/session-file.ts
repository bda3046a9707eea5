/**
 * Writing the handed session (a secret: whoever holds it is the household at
 * that market until the ticket expires) to a file the user names, for
 * `openssl s_client -sess_in`.
 *
 * The file is 0600 whether it is new or existed, and a symbolic link is never
 * followed: a link planted at that name (in /tmp, say) would otherwise carry
 * the secret wherever it points, or leave it in a file others can read.
 * - new name: written to a temp file (O_EXCL, 0600) beside it and renamed
 *   over the name, so nobody ever reads a half-written session; rename(2)
 *   replaces a link planted meanwhile instead of following it;
 * - existing regular file: opened with O_NOFOLLOW | O_TRUNC and fchmod 0600
 *   BEFORE anything is written (open's mode does not apply to an existing file);
 * - a link, a directory, a FIFO or a device: refused, unchanged.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AccessCardError } from './access-card-error.js';

const SECRET_MODE = 0o600;

function refuse(path: string, why: string): AccessCardError {
  return new AccessCardError('session-file-refused', `Will not write the session to ${path}: ${why}`);
}

async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Checks a --out name before any PIN is asked: refuses a symbolic link or anything but a regular file. */
export async function checkSessionFileTarget(path: string): Promise<void> {
  const st = await lstatOrNull(path);
  if (st === null || st.isFile()) return;
  throw refuse(path, st.isSymbolicLink() ? 'it is a symbolic link' : 'it is not a regular file');
}

export async function writeSessionFile(path: string, data: string | Uint8Array): Promise<void> {
  await checkSessionFileTarget(path);
  if ((await lstatOrNull(path)) === null) return writeNew(path, data);
  return overwrite(path, data);
}

async function writeNew(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, SECRET_MODE);
  try {
    await fh.chmod(SECRET_MODE); // open's mode is masked by the umask
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

async function overwrite(path: string, data: string | Uint8Array): Promise<void> {
  let fh;
  try {
    // O_NONBLOCK: a FIFO swapped in after the check fails at once instead of blocking for a reader.
    fh = await open(path, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK') throw refuse(path, 'it is a symbolic link');
    if (code === 'ENXIO' || code === 'EISDIR') throw refuse(path, 'it is not a regular file');
    throw e;
  }
  try {
    if (!(await fh.stat()).isFile()) throw refuse(path, 'it is not a regular file');
    await fh.chmod(SECRET_MODE);
    await fh.truncate(0);
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
