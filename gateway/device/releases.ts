/**
 * The releases on a gateway: /opt/homegate/releases/<name>, one folder per
 * flashed bundle, `current` the one that runs (the systemd unit starts
 * /opt/homegate/current/...), `previous` the one before it, kept for
 * `homegate gateway rollback`. Both are relative symbolic links switched
 * atomically (a new link, then rename(2) over the old one), so a power cut
 * during a flash or a rollback leaves the old or the new release running,
 * never none. Older releases are removed: an SD card is small.
 */
import { readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fsyncDirectory, isErrno } from '../../card-io/base/durable/atomic-file.js';
import { DeviceError } from './device-error.js';

export const OPT_DIR = 'opt/homegate';

export interface ReleaseLinks {
  current: string | undefined;
  previous: string | undefined;
}

export function optDir(root: string): string {
  return join(root, OPT_DIR);
}

async function linkTarget(path: string): Promise<string | undefined> {
  try {
    return basename(await readlink(path));
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

export async function readReleaseLinks(root: string): Promise<ReleaseLinks> {
  const opt = optDir(root);
  return { current: await linkTarget(join(opt, 'current')), previous: await linkTarget(join(opt, 'previous')) };
}

/** Points `name` (current or previous) at releases/<release>, atomically. */
export async function switchLink(root: string, name: 'current' | 'previous', release: string | undefined): Promise<void> {
  const opt = optDir(root);
  if (release === undefined) {
    await rm(join(opt, name), { force: true });
    return;
  }
  const tmp = join(opt, `.${name}.new`);
  await rm(tmp, { force: true });
  await symlink(join('releases', release), tmp);
  await rename(tmp, join(opt, name));
  await fsyncDirectory(opt);
}

/** Removes every release folder but the given ones (and leftovers of interrupted copies). */
export async function pruneReleases(root: string, keep: ReadonlyArray<string | undefined>): Promise<string[]> {
  const dir = join(optDir(root), 'releases');
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    if (keep.includes(name)) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** `current` goes back to `previous`, and `previous` to what was current: a second rollback undoes the first. */
export async function rollbackRelease(root: string): Promise<{ from: string; to: string }> {
  const { current, previous } = await readReleaseLinks(root);
  if (current === undefined || previous === undefined) {
    throw new DeviceError('no-previous-release', `No previous release to go back to in ${optDir(root)} (only one was flashed)`, {
      root,
    });
  }
  const present = await readdir(join(optDir(root), 'releases'));
  if (!present.includes(previous)) {
    throw new DeviceError('no-previous-release', `The previous release ${previous} is gone from ${optDir(root)}/releases`, { root, previous });
  }
  await switchLink(root, 'current', previous);
  await switchLink(root, 'previous', current);
  return { from: current, to: previous };
}
