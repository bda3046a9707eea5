/**
 * `homegate provision device`: build a bundle for the board's architecture
 * (bundle-build.ts) and write it onto the target (flash-target.ts). The work
 * folder holds the gateway's keys while it exists: it is private (0700,
 * mkdtemp) and removed when the flash ends, however it ends.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BundleManifest, buildBundle } from './bundle-build.js';
import { DeviceError } from './device-error.js';
import type { DeviceAnswers } from './device-state.js';
import { parseFlashTarget } from './flash-target.js';
import { flashOverSsh } from './flash-target.js';
import { type InstallResult, installRelease } from './release-install.js';
import type { TargetArch } from './target-arch.js';

export interface FlashDeviceOptions {
  target: string;
  arch: TargetArch;
  householdDir: string;
  answers: DeviceAnswers;
  cacheDir: string;
  packageRoot?: string;
  nodeVersion?: string;
  /** The build time (the release's name). Default now. */
  now?: Date;
  /** Told each step as it starts (the CLI prints them). */
  onStep?: (step: string) => void;
}

export interface FlashDeviceResult {
  target: string;
  manifest: BundleManifest;
  install: InstallResult | unknown;
}

export async function flashDevice(o: FlashDeviceOptions): Promise<FlashDeviceResult> {
  const target = parseFlashTarget(o.target);
  if (
    target.kind === 'dir' &&
    !(await stat(target.root).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    // Not created: a mistyped mount point would otherwise silently receive a gateway.
    throw new DeviceError('invalid', `--target ${target.root} is not a folder: mount the SD card's root partition and name its mount point`, {
      target: target.root,
    });
  }
  const work = await mkdtemp(join(tmpdir(), 'homegate-bundle-'));
  try {
    o.onStep?.(`building the ${o.arch} bundle`);
    const built = await buildBundle({
      arch: o.arch,
      householdDir: o.householdDir,
      answers: o.answers,
      workDir: join(work, 'bundle'),
      cacheDir: o.cacheDir,
      ...(o.packageRoot ? { packageRoot: o.packageRoot } : {}),
      ...(o.nodeVersion ? { nodeVersion: o.nodeVersion } : {}),
      ...(o.now ? { now: o.now } : {}),
    });
    o.onStep?.(`writing release ${built.manifest.release} to ${o.target}`);
    const install = target.kind === 'dir' ? await installRelease(built.workDir, target.root, { move: true }) : await flashOverSsh(target, built.workDir);
    return { target: o.target, manifest: built.manifest, install };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
