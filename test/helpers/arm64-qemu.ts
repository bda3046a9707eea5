/**
 * What running an arm64 gateway on this (x86) machine needs: qemu-user and
 * an arm64 C library (arm64-libc.ts), unpacked into the target root where a
 * Raspberry Pi OS image has its own. Missing pieces follow binaries.ts: the
 * tests fail in CI and are skipped with the reason elsewhere.
 */
import anyTest from 'ava';
import { findArm64Debs, findQemuAarch64 } from './arm64-libc.js';
import { findOnPath, isCi, type RegisterTest } from './binaries.js';

export { installArm64Libc } from './arm64-libc.js';

export interface Arm64Emulation {
  readonly test: RegisterTest;
  readonly available: boolean;
  readonly reason: string | undefined;
  /** The qemu-user program. */
  readonly qemu: string;
  /** The cached .deb files. */
  readonly debs: string[];
}

export function needsArm64Emulation(env: NodeJS.ProcessEnv = process.env): Arm64Emulation {
  const qemu = findQemuAarch64(env.PATH ?? '');
  let reason: string | undefined;
  let debs: string[] = [];
  if (qemu === undefined) reason = 'qemu-aarch64 is required for this suite; install it with apt-get install -y qemu-user';
  else if (findOnPath('dpkg-deb', env.PATH ?? '') === undefined) reason = 'dpkg-deb is required to unpack the arm64 C library (Debian/Ubuntu)';
  else {
    const found = findArm64Debs();
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
