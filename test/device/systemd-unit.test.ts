/**
 * The systemd units as systemd itself reads them: `systemd-analyze verify`
 * on a root holding the units from deploy/systemd, the card-device drop-in
 * the flash writes, the executables they start (stand-ins) and the host's
 * own system units (targets the units are ordered against). Any line
 * systemd prints about our units (an unknown key, a missing command, a bad
 * dependency) fails the test. Needs systemd's tools (package systemd, which
 * .ci/run installs): skipped with the reason locally, failing in CI.
 *
 * Also: the notifier sends nothing without $NOTIFY_SOCKET, and with it runs
 * systemd-notify with READY=1, then WATCHDOG=1 at half $WATCHDOG_USEC; and
 * the real systemd-notify delivers those datagrams to a real AF_UNIX
 * datagram socket (socat listening on it), where both programs exist; and
 * `homegate gateway run` itself notifies, through a stand-in systemd-notify.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { HOMEGATE_BIN } from '../../deploy/sandbox/household/emulator-child.js';
import { cardDeviceDropIn } from '../../gateway/device/systemd-units.js';
import { setupGateway } from '../../gateway/setup/gateway-setup.js';
import { createServiceNotifier, watchdogInterval } from '../../gateway/service/systemd-notify.js';
import { findOnPath, needsBinary } from '../helpers/binaries.js';
import { freePort } from '../helpers/link-probes.js';

const DEPLOY = fileURLToPath(new URL('../../../deploy/systemd/', import.meta.url));
const analyzeNeed = needsBinary('systemd-analyze');
const analyze = findOnPath('systemd-analyze', process.env.PATH ?? '');
const hostUnits = '/usr/lib/systemd/system';
const verifyTest = analyzeNeed.test;

verifyTest('systemd-analyze verify finds nothing to say about homegate.service, its card-device drop-in and the first-boot unit', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'homegate-units-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const units = join(root, 'etc/systemd/system');
  await mkdir(join(units, 'homegate.service.d'), { recursive: true });
  for (const u of ['homegate.service', 'homegate-first-boot.service']) await cp(join(DEPLOY, u), join(units, u));
  await writeFile(join(units, 'homegate.service.d/card-device.conf'), cardDeviceDropIn('/dev/serial0'));
  for (const exe of ['opt/homegate/current/bin/homegate', 'opt/homegate/current/deploy/first-boot.sh']) {
    await mkdir(join(root, exe, '..'), { recursive: true });
    await writeFile(join(root, exe), '#!/bin/sh\n');
    await chmod(join(root, exe), 0o755);
  }
  await mkdir(join(root, 'usr/lib/systemd'), { recursive: true });
  await cp(hostUnits, join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  await symlink('usr/lib', join(root, 'lib'));
  const out = await new Promise<{ code: number; text: string }>((resolve) =>
    execFile(
      analyze!,
      ['verify', `--root=${root}`, '/etc/systemd/system/homegate.service', '/etc/systemd/system/homegate-first-boot.service'],
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, text: stdout + stderr }),
    ),
  );
  const ours = out.text.split('\n').filter((l) => /homegate/.test(l));
  t.deepEqual(ours, [], out.text);
  t.is(out.code, 0, out.text);
});

test('Without NOTIFY_SOCKET the notifier is inactive and runs nothing', (t) => {
  const n = createServiceNotifier({ env: { PATH: '/nonexistent' }, command: '/nonexistent/systemd-notify' });
  t.false(n.active);
  n.ready('x');
  n.stopping();
  t.is(n.watchdogIntervalMs, undefined);
});

test('The watchdog interval is half of WATCHDOG_USEC, and none when WATCHDOG_PID names another process', (t) => {
  t.is(watchdogInterval({ WATCHDOG_USEC: '30000000' }, 42), 15_000);
  t.is(watchdogInterval({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42), 15_000);
  t.is(watchdogInterval({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 42), undefined);
  t.is(watchdogInterval({}, 42), undefined);
});

test('With NOTIFY_SOCKET the notifier runs systemd-notify with READY=1 and a status, then WATCHDOG=1 pings, then STOPPING=1', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-notify-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const log = join(dir, 'log');
  const fake = join(dir, 'systemd-notify');
  await writeFile(fake, `#!/bin/sh\necho "$NOTIFY_SOCKET|$*" >>${JSON.stringify(log)}\n`);
  await chmod(fake, 0o755);
  const n = createServiceNotifier({ env: { NOTIFY_SOCKET: '/run/sock', WATCHDOG_USEC: '100000', PATH: '/usr/bin:/bin' }, command: fake });
  t.is(n.watchdogIntervalMs, 50);
  n.ready('serving terminals on https://127.0.0.1:8443');
  let text = '';
  for (let i = 0; i < 100 && (text.match(/WATCHDOG=1/g) ?? []).length < 2; i++) {
    await new Promise((r) => setTimeout(r, 50));
    text = await readFile(log, 'utf8').catch(() => '');
  }
  n.stopping();
  await new Promise((r) => setTimeout(r, 300));
  const lines = (await readFile(log, 'utf8')).trim().split('\n');
  t.true(lines.includes('/run/sock|READY=1 STATUS=serving terminals on https://127.0.0.1:8443'), lines.join('\n'));
  t.true(lines.filter((l) => l === '/run/sock|READY=1 WATCHDOG=1').length >= 2, lines.join('\n'));
  t.is(lines.at(-1), '/run/sock|STOPPING=1');
});

const socatBinary = findOnPath('socat', process.env.PATH ?? '');
// Both programs: in CI a missing one fails the test, locally it is skipped with the reason.
const notifyNeed = needsBinary('systemd-notify');
const realSocketTest = notifyNeed.available ? needsBinary('socat').test : notifyNeed.test;

realSocketTest('The real systemd-notify delivers READY=1 and the status to the AF_UNIX datagram socket NOTIFY_SOCKET names', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-notify-sock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const sock = join(dir, 'notify');
  // socat stands in for systemd's end of the socket; it never answers the BARRIER, so each systemd-notify waits 5 s, unwaited.
  const receiver = spawn(socatBinary!, ['-u', `UNIX-RECV:${sock}`, '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => {
    receiver.kill();
  });
  let received = '';
  receiver.stdout!.on('data', (b: Buffer) => (received += b.toString('utf8')));
  for (let i = 0; i < 100; i++) {
    if (
      await stat(sock).then(
        () => true,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const n = createServiceNotifier({ env: { NOTIFY_SOCKET: sock, PATH: process.env.PATH } });
  n.ready('serving terminals on https://127.0.0.1:8443');
  for (let i = 0; i < 100 && !received.includes('STATUS='); i++) await new Promise((r) => setTimeout(r, 50));
  t.regex(received, /READY=1\nSTATUS=serving terminals on https:\/\/127\.0\.0\.1:8443/);
});

test('gateway run under a service manager says READY with its URL once it serves, pings the watchdog, and says STOPPING on SIGTERM', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-notify-run-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  const port = await freePort();
  // No card answers on this line: the gateway serves anyway and keeps trying the card.
  await setupGateway({ dataDir: data, cardDevice: `tcp://127.0.0.1:${await freePort()}`, hosts: ['localhost', '127.0.0.1'], port });
  const log = join(dir, 'notify.log');
  await writeFile(join(dir, 'systemd-notify'), `#!/bin/sh\necho "$*" >>${JSON.stringify(log)}\n`);
  await chmod(join(dir, 'systemd-notify'), 0o755);
  const child = spawn(process.execPath, [HOMEGATE_BIN, '--data', data, '--log-level', 'error', 'gateway', 'run'], {
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '400000', HOMEGATE_DATA: '' },
    stdio: 'ignore',
  });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  let text = '';
  for (let i = 0; i < 300 && !text.includes('WATCHDOG=1'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    text = await readFile(log, 'utf8').catch(() => '');
  }
  t.regex(text, new RegExp(`^READY=1 STATUS=serving terminals on https://127\\.0\\.0\\.1:${port}$`, 'm'));
  t.regex(text, /^READY=1 WATCHDOG=1$/m);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  for (let i = 0; i < 50 && !text.includes('STOPPING=1'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    text = await readFile(log, 'utf8');
  }
  t.regex(text, /^STOPPING=1$/m);
});
