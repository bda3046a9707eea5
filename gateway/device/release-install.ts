/**
 * Installs a built bundle (bundle-build.ts) onto a root file system: a
 * mounted SD card's root, `/` on the board itself (over SSH the bundle runs
 * this with its own Node.js: ssh-target.ts), or a temporary folder in tests.
 *
 * - The release goes to /opt/homegate/releases/<name> (copied beside, synced
 *   to disk, then renamed in), `current` switches to it, the release that was current
 *   becomes `previous` (releases.ts), older ones are removed.
 * - The data directory /var/lib/homegate is the household's state: a file
 *   of the bundle's state/ is written only where none exists, so re-flashing
 *   replaces the software and keeps the registry, history, keys and
 *   gateway.json.
 * - The systemd units, the card-device drop-in (from the gateway.json in
 *   effect), the udev rule, and the operator's `homegate` command in
 *   /usr/local/bin. These are replaced on every flash: they belong to the
 *   software.
 */
import { cp, lstat, mkdir, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isErrno } from '../../card-io/base/durable/atomic-file.js';
import type { BundleManifest } from './bundle-build.js';
import { DEVICE_DATA_DIR } from './device-state.js';
import { restrictModes } from './file-modes.js';
import { runTool } from './run-tool.js';
import { optDir, pruneReleases, readReleaseLinks, switchLink } from './releases.js';
import { DROP_IN, DROP_IN_DIR, FIRST_BOOT_SERVICE, SERVICE, UNIT_DIR, cardDeviceDropIn, enableLinks } from './systemd-units.js';

export interface InstallResult {
  manifest: BundleManifest;
  release: string;
  previous: string | undefined;
  removedReleases: string[];
  /** Data-directory files written (a first flash) and kept (a re-flash), relative to it. */
  stateWritten: string[];
  stateKept: string[];
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false;
    throw e;
  }
}

/** rename(2) when source and destination share a file system; false (nothing done) across file systems. */
async function moved(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (e) {
    if (isErrno(e, 'EXDEV')) return false;
    throw e;
  }
}

async function walkFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walkFiles(join(dir, e.name), r)));
    else out.push(r);
  }
  return out;
}

/**
 * `bundleDir` holds release/ and state/; `root` is the target's root file system.
 * `move`: the bundle folder is disposable, so its release may be renamed into
 * place instead of copied when both are on one file system (a flash then costs
 * one copy of the ~100 MB Node.js binary less).
 */
export async function installRelease(bundleDir: string, root: string, o: { move?: boolean } = {}): Promise<InstallResult> {
  const releaseSrc = join(bundleDir, 'release');
  const manifest = JSON.parse(await readFile(join(releaseSrc, 'BUNDLE.json'), 'utf8')) as BundleManifest;
  const opt = optDir(root);
  const releases = join(opt, 'releases');
  await mkdir(releases, { recursive: true, mode: 0o700 });

  const dest = join(releases, manifest.release);
  const partial = join(releases, `.${manifest.release}.partial`);
  await rm(partial, { recursive: true, force: true });
  if (!(o.move && (await moved(releaseSrc, partial)))) await cp(releaseSrc, partial, { recursive: true, verbatimSymlinks: true });
  await restrictModes(partial, (rel) => rel === 'node/bin/node' || rel === 'bin/homegate' || rel === 'deploy/first-boot.sh');
  const before = await readReleaseLinks(root);
  // On disk before `current` may point at it: a power cut (or an SD card pulled) after the switch must not leave a release half written.
  await syncFileSystem(partial);
  await rm(dest, { recursive: true, force: true });
  await rename(partial, dest);
  const previous = before.current !== undefined && before.current !== manifest.release ? before.current : before.previous;
  await switchLink(root, 'current', manifest.release);
  await switchLink(root, 'previous', previous !== manifest.release ? previous : undefined);
  const removedReleases = await pruneReleases(root, [manifest.release, previous]);

  // The household's state: written once, kept on every re-flash.
  const data = join(root, DEVICE_DATA_DIR);
  await mkdir(data, { recursive: true, mode: 0o700 });
  const stateWritten: string[] = [];
  const stateKept: string[] = [];
  for (const rel of await walkFiles(join(bundleDir, 'state'))) {
    const to = join(data, rel);
    if (await exists(to)) {
      stateKept.push(rel);
      continue;
    }
    await mkdir(dirname(to), { recursive: true, mode: 0o700 });
    await cp(join(bundleDir, 'state', rel), to);
    stateWritten.push(rel);
  }

  await installSystemFiles(root, dest, data);
  await syncFileSystem(data);
  return { manifest, release: manifest.release, previous, removedReleases, stateWritten, stateKept };
}

async function installSystemFiles(root: string, release: string, data: string): Promise<void> {
  const units = join(root, UNIT_DIR);
  await mkdir(join(units, 'multi-user.target.wants'), { recursive: true, mode: 0o755 });
  // Unit files and udev rules hold no secret; 0644 as systemd and udev expect.
  for (const u of [SERVICE, FIRST_BOOT_SERVICE]) {
    await writeFile(join(units, u), await readFile(join(release, 'deploy', 'systemd', u)), { mode: 0o644 });
  }
  const config = JSON.parse(await readFile(join(data, 'gateway.json'), 'utf8')) as { card?: { device?: string } };
  await mkdir(join(root, DROP_IN_DIR), { recursive: true, mode: 0o755 });
  await writeFile(join(root, DROP_IN), cardDeviceDropIn(config.card?.device ?? '/dev/serial0'), { mode: 0o644 });
  for (const { link, target } of enableLinks()) await replaceSymlink(join(root, link), target);
  const rules = join(root, 'etc', 'udev', 'rules.d');
  await mkdir(rules, { recursive: true, mode: 0o755 });
  await writeFile(join(rules, '99-homegate-card.rules'), await readFile(join(release, 'deploy', 'udev', '99-homegate-card.rules')), { mode: 0o644 });
  await mkdir(join(root, 'usr', 'local', 'bin'), { recursive: true, mode: 0o755 });
  await replaceSymlink(join(root, 'usr', 'local', 'bin', 'homegate'), `/${join('opt', 'homegate', 'current', 'bin', 'homegate')}`);
}

/**
 * syncfs(2) of the file system holding `path` (coreutils `sync -f`; Node.js has
 * no syncfs), else a plain sync(2): thousands of files are written, and one
 * call is cheaper than an fsync each.
 */
async function syncFileSystem(path: string): Promise<void> {
  await runTool('sync', ['-f', path]).catch(() => runTool('sync', []));
}

async function replaceSymlink(path: string, target: string): Promise<void> {
  const tmp = `${path}.new`;
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  await rename(tmp, path);
}
