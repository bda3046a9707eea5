/**
 * `homegate provision device` onto a folder standing in for a mounted SD
 * card's root: the bundle's file modes, that nothing of the household root
 * key or a PIN reaches it, that a re-flash keeps the data directory and the
 * release before, and `homegate gateway rollback`. An x64 bundle (this
 * machine's architecture; the arm64 one runs in arm64-qemu.test.ts). The
 * Node.js runtime and the dependencies come from ~/.cache/homegate after the
 * first run (the first one downloads about 30 MB).
 */
import { execFile } from 'node:child_process';
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { defaultCacheDir } from '../../gateway/device/bundle-build.js';
import { flashDevice } from '../../gateway/device/flash-device.js';
import { listModes } from '../../gateway/device/file-modes.js';
import { rollbackRelease } from '../../gateway/device/releases.js';
import { runCli } from '../gateway/cli-process.js';
import { makeTestHousehold, type TestHousehold } from '../helpers/device-household.js';

/** A PIN the operator keeps beside the household's keys: it must not travel. */
const DECOY_PIN = '739164';

interface Flashed {
  root: string;
  household: TestHousehold;
  first: { release: string };
}

let flashed: Promise<Flashed> | undefined;

async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** One flash through the CLI, shared by the tests that only read the result. */
function flashOnce(): Promise<Flashed> {
  flashed ??= (async () => {
    const household = await makeTestHousehold(await tempDir('homegate-household-'));
    await writeFile(join(household.dir, 'card-pins.txt'), `PIN1 ${DECOY_PIN}\n`, { mode: 0o600 });
    const root = await tempDir('homegate-root-');
    const r = await runCli(
      ['provision', 'device', '--target', root, '--arch', 'x64', '--household', household.dir, '--card-device', '/dev/serial0', '--json'],
      { timeoutMs: 170_000 },
    );
    if (r.code !== 0) throw new Error(`provision device failed (${r.code}):\n${r.stderr}`);
    const out = JSON.parse(r.stdout) as { manifest: { release: string } };
    return { root, household, first: { release: out.manifest.release } };
  })();
  return flashed;
}

test.after.always(async () => {
  if (!flashed) return;
  const f = await flashed.catch(() => undefined);
  if (f) await Promise.all([rm(f.root, { recursive: true, force: true }), rm(f.household.dir, { recursive: true, force: true })]);
});

test('A flashed release and data directory hold files 0600 and folders 0700, and only the Node.js binary and the scripts are executable', async (t) => {
  const { root, first } = await flashOnce();
  const release = join(root, 'opt/homegate/releases', first.release);
  const executables = new Set(['node/bin/node', 'bin/homegate', 'deploy/first-boot.sh']);
  for (const e of await listModes(release)) {
    const want = e.type === 'dir' ? 0o700 : executables.has(e.path) ? 0o700 : 0o600;
    if (e.mode !== want) t.fail(`${e.path}: mode ${e.mode.toString(8)}, want ${want.toString(8)}`);
  }
  for (const e of await listModes(join(root, 'var/lib/homegate'))) {
    t.is(e.mode, e.type === 'dir' ? 0o700 : 0o600, e.path);
  }
  t.is((await stat(join(root, 'var/lib/homegate'))).mode & 0o777, 0o700);
  t.is((await stat(join(release, 'node/bin/node'))).mode & 0o777, 0o700);
});

test('The bundle carries its version, its Node.js and only the target architecture of the serialport binding', async (t) => {
  const { root, first } = await flashOnce();
  const current = join(root, 'opt/homegate/current');
  t.is(await readlink(current), join('releases', first.release));
  const manifest = JSON.parse(await readFile(join(current, 'BUNDLE.json'), 'utf8')) as { version: string; arch: string; node: string };
  const pkg = JSON.parse(await readFile(join(current, 'app/package.json'), 'utf8')) as { version: string };
  t.is(manifest.version, pkg.version);
  t.is(manifest.arch, 'x64');
  t.regex(manifest.node, /^20\.\d+\.\d+$/);
  t.deepEqual(await readdir(join(current, 'app/node_modules/@serialport/bindings-cpp/prebuilds')), ['linux-x64']);
  t.false((await readdir(join(current, 'app/dist'))).includes('test'), 'no test code in a bundle');
  const conf = await readFile(join(root, 'etc/systemd/system/homegate.service.d/card-device.conf'), 'utf8');
  t.regex(conf, /^BindsTo=dev-serial0\.device$/m);
  t.is(await readlink(join(root, 'etc/systemd/system/multi-user.target.wants/homegate.service')), '/etc/systemd/system/homegate.service');
  const config = JSON.parse(await readFile(join(root, 'var/lib/homegate/gateway.json'), 'utf8')) as { card: { device: string } };
  t.is(config.card.device, '/dev/serial0');
});

test("The operator's homegate command (the service's ExecStart) runs the one-file gateway on the bundled Node.js with the small-board memory settings, unless the environment sets its own", async (t) => {
  const { root, first } = await flashOnce();
  // The flashed launcher beside a stand-in for the bundled node that prints what it was given.
  const dir = await tempDir('homegate-launcher-');
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'bin'));
  await mkdir(join(dir, 'node/bin'), { recursive: true });
  await cp(join(root, 'opt/homegate/releases', first.release, 'bin/homegate'), join(dir, 'bin/homegate'));
  await writeFile(join(dir, 'node/bin/node'), '#!/bin/sh\necho "$NODE_OPTIONS|$MALLOC_ARENA_MAX|$MALLOC_MMAP_THRESHOLD_|$HOMEGATE_DATA|$*"\n', { mode: 0o700 });
  const run = (env: NodeJS.ProcessEnv) => promisify(execFile)(join(dir, 'bin/homegate'), ['status'], { env: { PATH: process.env.PATH, ...env } });
  const oneFile = `${dir}/bin/../app/dist/homegate.cjs`;
  t.is((await run({})).stdout.trim(), `--max-semi-space-size=1|2|65536|/var/lib/homegate|--optimize-for-size --no-sparkplug ${oneFile} status`);
  t.is(
    (await run({ NODE_OPTIONS: '--max-old-space-size=64', MALLOC_ARENA_MAX: '4', MALLOC_MMAP_THRESHOLD_: '131072' })).stdout.trim(),
    `--max-old-space-size=64|4|131072|/var/lib/homegate|--optimize-for-size --no-sparkplug ${oneFile} status`,
  );
  // The release carries the one file it runs.
  t.true((await stat(join(root, 'opt/homegate/releases', first.release, 'app/dist/homegate.cjs'))).isFile());
});

async function* everyFile(dir: string): AsyncGenerator<string> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* everyFile(p);
    else if (e.isFile()) yield p;
  }
}

test('No file of a flashed root holds the household root key or a PIN kept beside it', async (t) => {
  const { root, household } = await flashOnce();
  const pemBody = household.rootKeyPem
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .join('');
  // The PEM body, the DER and the bare scalar (the secret itself, whatever encoding carried it), and the PIN.
  const needles = [
    Buffer.from(pemBody),
    household.rootKeyDer,
    household.rootKeyScalar,
    Buffer.from(household.rootKeyScalar.toString('hex')),
    Buffer.from(DECOY_PIN),
  ];
  let files = 0;
  for await (const f of everyFile(root)) {
    files++;
    const data = await readFile(f);
    for (const n of needles) if (data.includes(n)) t.fail(`${f} holds a secret that must stay off the gateway`);
  }
  t.true(files > 100, `scanned ${files} files`);
  t.false(
    await lstat(join(root, 'var/lib/homegate/pki/household-ca.key')).then(
      () => true,
      () => false,
    ),
  );
});

test('Re-flashing replaces the software, keeps the data directory, and gateway rollback goes back and forth', async (t) => {
  const household = await makeTestHousehold(await tempDir('homegate-household-'));
  const root = await tempDir('homegate-root-');
  t.teardown(() => Promise.all([rm(root, { recursive: true, force: true }), rm(household.dir, { recursive: true, force: true })]));
  const flash = (cardDevice: string, at: string) =>
    flashDevice({ target: root, arch: 'x64', householdDir: household.dir, answers: { cardDevice }, cacheDir: defaultCacheDir(), now: new Date(at) });
  const one = await flash('/dev/serial0', '2026-01-01T00:00:00Z');
  // The household's state on the board: a registry and a changed gateway.json.
  const data = join(root, 'var/lib/homegate');
  await writeFile(join(data, 'registry.json'), '{"terminals":[]}\n', { mode: 0o600 });
  const config = await readFile(join(data, 'gateway.json'), 'utf8');
  const two = await flash('/dev/ttyUSB0', '2026-02-01T00:00:00Z');
  t.not(one.manifest.release, two.manifest.release);
  t.is(await readFile(join(data, 'registry.json'), 'utf8'), '{"terminals":[]}\n');
  t.is(await readFile(join(data, 'gateway.json'), 'utf8'), config, 'gateway.json kept: the answers of a re-flash do not replace it');
  t.deepEqual((two.install as { stateKept: string[] }).stateKept.sort(), [
    'gateway.json',
    'pki/enrollment-ca.key',
    'pki/enrollment-ca.pem',
    'pki/gateway.key',
    'pki/gateway.pem',
    'pki/household-ca.pem',
  ]);
  const opt = join(root, 'opt/homegate');
  t.is(await readlink(join(opt, 'current')), join('releases', two.manifest.release));
  t.is(await readlink(join(opt, 'previous')), join('releases', one.manifest.release));

  const r = await runCli(['gateway', 'rollback', '--root', root, '--json']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { from: two.manifest.release, to: one.manifest.release });
  t.is(await readlink(join(opt, 'current')), join('releases', one.manifest.release));
  t.is(await readlink(join(opt, 'previous')), join('releases', two.manifest.release));
  t.deepEqual(await rollbackRelease(root), { from: one.manifest.release, to: two.manifest.release }, 'a second rollback undoes the first');
});

test('gateway rollback with a single release says there is nothing to go back to', async (t) => {
  const root = await tempDir('homegate-root-');
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const r = await runCli(['gateway', 'rollback', '--root', root]);
  t.is(r.code, 1);
  t.regex(r.stderr, /No previous release/);
});

test('A household folder without gateway/pki is refused and nothing is written to the target', async (t) => {
  const household = await tempDir('homegate-household-');
  const root = await tempDir('homegate-root-');
  t.teardown(() => Promise.all([rm(root, { recursive: true, force: true }), rm(household, { recursive: true, force: true })]));
  const r = await runCli(['provision', 'device', '--target', root, '--arch', 'x64', '--household', household, '--card-device', '/dev/serial0']);
  t.is(r.code, 1);
  t.regex(r.stderr, /provision household/);
  t.deepEqual(await readdir(root), []);
});

test('An unknown architecture is refused with the ones that exist', async (t) => {
  const r = await runCli([
    'provision',
    'device',
    '--target',
    '/nonexistent',
    '--arch',
    'sparc',
    '--household',
    '/nonexistent',
    '--card-device',
    '/dev/serial0',
  ]);
  t.is(r.code, 1);
  t.regex(r.stderr, /arm64, armv7l, x64/);
});

test('A target folder that does not exist is refused rather than created (a mistyped mount point)', async (t) => {
  const household = await tempDir('homegate-household-');
  t.teardown(() => rm(household, { recursive: true, force: true }));
  const target = join(household, 'not-mounted');
  const r = await runCli(['provision', 'device', '--target', target, '--arch', 'x64', '--household', household, '--card-device', '/dev/serial0']);
  t.is(r.code, 1);
  t.regex(r.stderr, /is not a folder: mount the SD card/);
  t.false(
    await lstat(target).then(
      () => true,
      () => false,
    ),
  );
});
