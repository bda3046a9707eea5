/**
 * What running an arm64 gateway on this (x86) machine needs: qemu-user
 * (`qemu-aarch64`, or the static build) and an arm64 C library for its
 * `-L` prefix, taken from Debian's arm64 packages (libc6, libstdc++6,
 * libgcc-s1: what Node.js links against) and unpacked into the target root,
 * where a Raspberry Pi OS image has its own.
 *
 * The .deb files are cached in ~/.cache/homegate/debs/arm64 and fetched with
 * `apt-get download` (which needs `dpkg --add-architecture arm64 && apt-get
 * update`, done by .ci/run in CI). Missing pieces follow binaries.ts: the
 * tests fail in CI and are skipped with the reason elsewhere.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import anyTest from 'ava';
import { defaultCacheDir } from '../../gateway/device/bundle-build.js';
import { findOnPath, isCi, type RegisterTest } from './binaries.js';

export const ARM64_LIBC_PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1'] as const;

export interface Arm64Emulation {
  readonly test: RegisterTest;
  readonly available: boolean;
  readonly reason: string | undefined;
  /** The qemu-user program. */
  readonly qemu: string;
  /** The cached .deb files. */
  readonly debs: string[];
}

function cachedDebs(dir: string): string[] {
  const files = readdirSync(dir);
  return ARM64_LIBC_PACKAGES.map((p) => files.find((f) => f.startsWith(`${p}_`) && f.endsWith('_arm64.deb')))
    .filter((f): f is string => f !== undefined)
    .map((f) => join(dir, f));
}

function findDebs(): { debs: string[]; reason?: string } {
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

export function needsArm64Emulation(env: NodeJS.ProcessEnv = process.env): Arm64Emulation {
  const qemu = findOnPath('qemu-aarch64', env.PATH ?? '') ?? findOnPath('qemu-aarch64-static', env.PATH ?? '');
  let reason: string | undefined;
  let debs: string[] = [];
  if (qemu === undefined) reason = 'qemu-aarch64 is required for this suite; install it with apt-get install -y qemu-user';
  else if (findOnPath('dpkg-deb', env.PATH ?? '') === undefined) reason = 'dpkg-deb is required to unpack the arm64 C library (Debian/Ubuntu)';
  else {
    const found = findDebs();
    debs = found.debs;
    reason = found.reason;
  }
  if (reason !== undefined && isCi(env)) {
    const why = reason;
    return { test: (title) => anyTest(title, (t) => t.fail(why)), available: false, reason, qemu: '', debs };
  }
  if (reason !== undefined) console.log(`[skipped] ${reason}`);
  return { test: reason === undefined ? anyTest : anyTest.skip, available: reason === undefined, reason, qemu: qemu ?? '', debs };
}

/** Unpacks the arm64 C library into `root` (the -L prefix qemu resolves /lib/ld-linux-aarch64.so.1 under). */
export function installArm64Libc(debs: readonly string[], root: string): void {
  for (const deb of debs) execFileSync('dpkg-deb', ['-x', deb, root], { stdio: 'pipe' });
}
