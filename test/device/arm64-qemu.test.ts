/**
 * Tested on the architecture it targets (issue 12): an arm64 bundle is
 * flashed into a temporary root, and that root's own Node.js and gateway run
 * on an emulated arm64 CPU (qemu-user, with Debian's arm64 C library in the
 * root as a Raspberry Pi OS image has its own). The gateway talks to the card
 * emulator on the host over a tcp:// card line and answers `homegate status`
 * (run as on the board: no URL, the certificate names the gateway, not localhost);
 * a stand-in `systemd-notify` on PATH records that it told systemd READY=1
 * and WATCHDOG=1. The arm64 serialport binding from the bundle loads there.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createCardImage } from '../../card-io/emulator/card-image.js';
import { defaultCacheDir } from '../../gateway/device/bundle-build.js';
import { flashDevice } from '../../gateway/device/flash-device.js';
import { runCli } from '../gateway/cli-process.js';
import { installArm64Libc, needsArm64Emulation } from '../helpers/arm64-qemu.js';
import { makeTestHousehold } from '../helpers/device-household.js';
import { startEmulatorProcess } from '../helpers/household/emulator-process.js';
import { freePort } from '../helpers/link-probes.js';
import { ONE_FILE, SMALL_BOARD_MALLOC_ENV, SMALL_BOARD_NODE_OPTIONS, SMALL_BOARD_V8_FLAGS } from '../../gateway/device/small-board-settings.js';

const arm64 = needsArm64Emulation();
const run = promisify(execFile);

arm64.test('An arm64 bundle’s gateway starts under qemu-aarch64, reaches the host card emulator, answers status and notifies systemd', async (t) => {
  t.timeout(170_000);
  const work = await mkdtemp(join(tmpdir(), 'homegate-arm64-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  // Named as `provision household` names a gateway: its host name and .local, not localhost.
  const household = await makeTestHousehold(join(work, 'household'), ['192.168.1.20']);
  const root = join(work, 'root');
  await mkdir(root);
  const cardPort = await freePort();
  const apiPort = await freePort();
  const flashed = await flashDevice({
    target: root,
    arch: 'arm64',
    householdDir: household.dir,
    answers: { cardDevice: `tcp://127.0.0.1:${cardPort}`, port: apiPort },
    cacheDir: defaultCacheDir(),
  });
  t.is(flashed.manifest.arch, 'arm64');
  installArm64Libc(arm64.debs, root);
  const current = join(root, 'opt/homegate/current');
  const node = join(current, 'node/bin/node');

  const arch = await run(arm64.qemu, ['-L', root, node, '-p', 'process.arch'], { timeout: 60_000 });
  t.is(arch.stdout.trim(), 'arm64', 'the bundled Node.js is an arm64 binary');
  const binding = await run(
    arm64.qemu,
    // node-gyp-build is how bindings-cpp finds its binding (prebuilds/linux-arm64/*.armv8.glibc.node).
    [
      '-L',
      root,
      node,
      '-e',
      "const b = require('node-gyp-build')(require('path').dirname(require.resolve('@serialport/bindings-cpp/package.json'))); console.log(typeof b.open)",
    ],
    { cwd: join(current, 'app'), timeout: 60_000 },
  );
  t.is(binding.stdout.trim(), 'function', 'the prebuilt arm64 serialport binding loads: nothing was compiled for the board');

  const image = join(work, 'card.img');
  await createCardImage(image);
  const emulator = await startEmulatorProcess(`tcp://127.0.0.1:${cardPort}`, image);
  t.teardown(() => emulator.stop());

  const fakeBin = join(work, 'bin');
  const notes = join(work, 'notify.log');
  await mkdir(fakeBin);
  await writeFile(join(fakeBin, 'systemd-notify'), `#!/bin/sh\necho "$NOTIFY_SOCKET $*" >>${JSON.stringify(notes)}\n`);
  await chmod(join(fakeBin, 'systemd-notify'), 0o755);
  const data = join(root, 'var/lib/homegate');
  // As the service starts it (the release's bin/homegate): the one-file gateway with the small-board settings.
  const gateway: ChildProcess = spawn(
    arm64.qemu,
    ['-L', root, node, ...SMALL_BOARD_V8_FLAGS, join(current, 'app', ONE_FILE), '--data', data, 'gateway', 'run'],
    {
      env: {
        PATH: `${fakeBin}:${process.env.PATH}`,
        NOTIFY_SOCKET: '/run/fake-notify',
        WATCHDOG_USEC: '2000000',
        HOMEGATE_LOG_LEVEL: 'warn',
        NODE_OPTIONS: SMALL_BOARD_NODE_OPTIONS,
        ...SMALL_BOARD_MALLOC_ENV,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  gateway.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-8000)));
  t.teardown(() => {
    gateway.kill('SIGKILL');
  });

  // As the operator runs it on the board: the address from gateway.json, the certificate checked against the household CA.
  const status = await runCli(['status', '--data', data, '--wait', '150', '--json'], { timeoutMs: 160_000 });
  t.is(status.code, 0, `${status.stderr}\ngateway: ${stderr}`);
  const health = JSON.parse(status.stdout) as { card: string; version: string };
  t.is(health.card, 'present');
  t.is(health.version, flashed.manifest.version);

  // READY at start, WATCHDOG every WATCHDOG_USEC/2 = 1 s.
  const deadline = Date.now() + 20_000;
  let log = '';
  while (Date.now() < deadline && !log.includes('WATCHDOG=1')) {
    await new Promise((r) => setTimeout(r, 250));
    log = await readFile(notes, 'utf8').catch(() => '');
  }
  t.regex(log, /^\/run\/fake-notify READY=1 STATUS=serving terminals on https:/m);
  t.regex(log, /WATCHDOG=1/);
  gateway.kill('SIGTERM');
  await new Promise((r) => gateway.once('exit', r));
  t.regex(await readFile(notes, 'utf8'), /STOPPING=1/);
});
