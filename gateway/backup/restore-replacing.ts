/**
 * `homegate restore --replace`: a backup put in place of a data directory that
 * already holds something, the case of a freshly flashed board, whose
 * /var/lib/homegate holds the bundle's gateway.json and keys (and whatever its
 * first start wrote) before the household's backup is restored onto it.
 *
 * Nothing is merged and nothing is deleted: the backup is written into a
 * staging directory beside the data directory, then the old directory is
 * renamed aside (`<dir>.before-restore-<time>`) and the staging directory
 * renamed in, so a failure at any point leaves the old directory whole (at
 * worst aside, named in the error). Run as root (sudo on the board), the
 * restored tree is given the old directory's owner, so the service user can
 * read its keys. The gateway must be stopped: the CLI checks its admin socket.
 */
import { chown, lstat, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncDirectory, isErrno } from '../../card-io/base/durable/atomic-file.js';
import { BackupError } from './backup-error.js';
import { type DataSnapshot, restoreSnapshot } from './data-snapshot.js';

export interface ReplacingRestore {
  files: number;
  /** Where the directory that was there went (undefined: there was none, or it was empty). */
  previous?: string;
}

export async function restoreReplacing(snapshot: DataSnapshot, dataDir: string, now = new Date()): Promise<ReplacingRestore> {
  const old = await stat(dataDir).catch((e: unknown) => {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  });
  if (old === undefined || (await readdir(dataDir)).length === 0) return restoreSnapshot(snapshot, dataDir);
  const parent = dirname(dataDir);
  const staging = join(parent, `.${basename(dataDir)}.restoring-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  try {
    await restoreSnapshot(snapshot, staging);
    if (process.getuid?.() === 0) await chownTree(staging, old.uid, old.gid);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
  const previous = `${dataDir}.before-restore-${now.toISOString().replace(/[:.]/g, '-')}`;
  await rename(dataDir, previous);
  try {
    await rename(staging, dataDir);
  } catch (e) {
    throw new BackupError(
      'invalid',
      `The backup could not be moved into ${dataDir}; the directory that was there is now ${previous}, the backup in ${staging}`,
      {
        cause: (e as Error).message,
      },
    );
  }
  await fsyncDirectory(parent);
  return { files: snapshot.files.length, previous };
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const e of await readdir(dir)) {
    const p = join(dir, e);
    if ((await lstat(p)).isDirectory()) await chownTree(p, uid, gid);
    else await chown(p, uid, gid);
  }
}
