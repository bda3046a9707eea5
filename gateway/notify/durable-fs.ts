/**
 * The few durable file operations the outbox needs beyond FsyncJsonFile's
 * atomic replace (gateway/registry/fsync-json-file.ts): an fsynced append, a
 * remove whose directory entry is fsynced, and a directory fsync. Without the
 * directory fsync a rename or unlink may be undone by power loss.
 */
import { mkdir, open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

import { fsyncDirectory, isErrno } from '../../card-io/base/durable/atomic-file.js';

export { fsyncDirectory, isErrno };

/** Creates `dir` (mode 0700: notifications name mail addresses) and fsyncs its parent. */
export async function ensureDirectory(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) await fsyncDirectory(dirname(dir));
}

/** Appends `text` in one write and fsyncs it; creates the file (0600) when missing. */
export async function appendDurably(path: string, text: string, mode = 0o600): Promise<void> {
  const fh = await open(path, 'a', mode);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Truncates the file to empty and fsyncs it. */
export async function truncateDurably(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.truncate(0);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Removes the file (a missing file is fine) and fsyncs its directory. */
export async function removeDurably(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
    return;
  }
  await fsyncDirectory(dirname(path));
}
