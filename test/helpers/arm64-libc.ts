/**
 * An arm64 C library for qemu-user's `-L` prefix, from Debian's arm64
 * packages (libc6, libstdc++6, libgcc-s1: what Node.js links against),
 * cached in ~/.cache/homegate/debs/arm64 and fetched with `apt-get download`
 * (which needs `dpkg --add-architecture arm64 && apt-get update`; .ci/run
 * does that in CI). Free of ava, so the benchmark uses it too.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { defaultCacheDir } from '../../gateway/device/bundle-build.js';

export const ARM64_LIBC_PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1'] as const;

function cachedDebs(dir: string): string[] {
  const files = readdirSync(dir);
  return ARM64_LIBC_PACKAGES.map((p) => files.find((f) => f.startsWith(`${p}_`) && f.endsWith('_arm64.deb')))
    .filter((f): f is string => f !== undefined)
    .map((f) => join(dir, f));
}

/** The cached (else downloaded) .deb files, or why there are none. */
export function findArm64Debs(): { debs: string[]; reason?: string } {
  const dir = join(defaultCacheDir(), 'debs', 'arm64');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let debs = cachedDebs(dir);
  if (debs.length === ARM64_LIBC_PACKAGES.length) return { debs };
  try {
    execFileSync('apt-get', ['download', ...ARM64_LIBC_PACKAGES.map((p) => `${p}:arm64`)], { cwd: dir, stdio: 'pipe', timeout: 120_000 });
  } catch (e) {
    const why = (e as { stderr?: Buffer }).stderr?.toString().trim().split('\n').at(-1) ?? (e as Error).message;
    return {
      debs: [],
      reason: `the arm64 C library is needed (${why}); run: dpkg --add-architecture arm64 && apt-get update (then the test fetches ${ARM64_LIBC_PACKAGES.join(', ')})`,
    };
  }
  debs = cachedDebs(dir);
  return debs.length === ARM64_LIBC_PACKAGES.length ? { debs } : { debs, reason: 'apt-get download did not give every arm64 library package' };
}

/** qemu-user for arm64 on PATH (the Debian package qemu-user, or qemu-user-static). */
export function findQemuAarch64(path = process.env.PATH ?? ''): string | undefined {
  // Not binaries.ts's findOnPath: that module loads ava, and the benchmark runs outside it.
  for (const name of ['qemu-aarch64', 'qemu-aarch64-static']) {
    for (const dir of path.split(delimiter).filter(Boolean)) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** Unpacks the arm64 C library into `root` (the -L prefix qemu resolves /lib/ld-linux-aarch64.so.1 under). */
export function installArm64Libc(debs: readonly string[], root: string): void {
  for (const deb of debs) execFileSync('dpkg-deb', ['-x', deb, root], { stdio: 'pipe' });
}
