/**
 * The bundle's first-boot script (deploy/install-raspberry-pi.sh) against a
 * temporary root file system (ROOT=), with stand-ins for useradd, groupadd,
 * usermod and chown on PATH that edit the root's /etc/passwd and /etc/group
 * as the real ones would and record every call. It must fix what is missing,
 * change nothing on a second run, and say clearly what it cannot fix.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';

const SCRIPT = fileURLToPath(new URL('../../../deploy/install-raspberry-pi.sh', import.meta.url));
const CMDLINE = 'console=serial0,115200 console=tty1 root=PARTUUID=1234-02 rootfstype=ext4 fsck.repair=yes rootwait\n';
const CONFIG = '# Raspberry Pi OS\ndtparam=audio=on\n[pi4]\narm_boost=1\n';

/** Stand-ins that act on $ROOT like the real tools with --root, and log each call. */
const FAKES: Record<string, string> = {
  useradd: `root="$2"; for u; do :; done; echo "useradd $u" >>"$FAKE_LOG"; echo "$u:x:999:999::/var/lib/homegate:/usr/sbin/nologin" >>"$root/etc/passwd"; echo "$u:x:999:" >>"$root/etc/group"`,
  groupadd: `root="$2"; for g; do :; done; echo "groupadd $g" >>"$FAKE_LOG"; echo "$g:x:997:" >>"$root/etc/group"`,
  usermod: `root="$2"; g="$5"; u="$6"; echo "usermod $g $u" >>"$FAKE_LOG"; sed -i -e "s/^\\($g:[^:]*:[^:]*:\\)\\(..*\\)$/\\1\\2,$u/" -e "s/^\\($g:[^:]*:[^:]*:\\)$/\\1$u/" "$root/etc/group"`,
  chown: `echo "chown $*" >>"$FAKE_LOG"`,
};

async function makeRoot(t: ExecutionContext, boot = true): Promise<{ root: string; bin: string; log: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-firstboot-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  const bin = join(dir, 'bin');
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'opt/homegate'), { recursive: true });
  await mkdir(bin);
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000::/home/pi:/bin/bash\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\ndialout:x:20:pi\n');
  if (boot) {
    await mkdir(join(root, 'boot/firmware'), { recursive: true });
    await writeFile(join(root, 'boot/firmware/config.txt'), CONFIG);
    await writeFile(join(root, 'boot/firmware/cmdline.txt'), CMDLINE);
  }
  for (const [name, body] of Object.entries(FAKES)) {
    await writeFile(join(bin, name), `#!/bin/sh\n${body}\n`);
    await chmod(join(bin, name), 0o755);
  }
  return { root, bin, log: join(dir, 'calls.log') };
}

function runScript(r: { root: string; bin: string; log: string }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', [SCRIPT], { env: { PATH: `${r.bin}:/usr/bin:/bin`, ROOT: r.root, FAKE_LOG: r.log } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('The first-boot script creates the user and groups, owns the folders, enables the UART and frees it from the serial console', async (t) => {
  const r = await makeRoot(t);
  const out = await runScript(r);
  t.is(out.code, 0, out.stderr);
  const passwd = await readFile(join(r.root, 'etc/passwd'), 'utf8');
  t.regex(passwd, /^homegate:x:999:999:/m);
  const group = await readFile(join(r.root, 'etc/group'), 'utf8');
  t.regex(group, /^dialout:x:20:pi,homegate$/m);
  t.regex(group, /^gpio:x:997:homegate$/m);
  const calls = await readFile(r.log, 'utf8');
  t.regex(calls, new RegExp(`^chown -R 999:999 ${r.root}/var/lib/homegate$`, 'm'), 'numeric ids from the root’s own passwd');
  t.regex(calls, new RegExp(`^chown -R 0:999 ${r.root}/opt/homegate$`, 'm'), 'the software stays root’s: the service user cannot change what root runs');
  const config = await readFile(join(r.root, 'boot/firmware/config.txt'), 'utf8');
  t.regex(config, /\[all\]\n# homegate[^\n]*\nenable_uart=1\n$/, 'after [all], so no conditional section swallows it');
  t.is(await readFile(join(r.root, 'boot/firmware/cmdline.txt'), 'utf8'), 'console=tty1 root=PARTUUID=1234-02 rootfstype=ext4 fsck.repair=yes rootwait\n');
  t.is(await readlink(join(r.root, 'etc/systemd/system/serial-getty@ttyAMA0.service')), '/dev/null');
  t.regex(out.stdout, /reboot once/);
});

test('The first-boot script makes the data directory private to the service user and the software readable, not writable, by its group', async (t) => {
  const r = await makeRoot(t);
  await mkdir(join(r.root, 'var/lib/homegate/pki'), { recursive: true, mode: 0o755 });
  await writeFile(join(r.root, 'var/lib/homegate/pki/copied-by-hand.key'), 'k', { mode: 0o644 });
  await writeFile(join(r.root, 'opt/homegate/BUNDLE.json'), '{}', { mode: 0o664 });
  t.is((await runScript(r)).code, 0);
  t.is((await stat(join(r.root, 'var/lib/homegate/pki/copied-by-hand.key'))).mode & 0o777, 0o600);
  t.is((await stat(join(r.root, 'var/lib/homegate/pki'))).mode & 0o777, 0o700);
  t.is((await stat(join(r.root, 'opt/homegate/BUNDLE.json'))).mode & 0o777, 0o640);
  t.is((await stat(join(r.root, 'opt/homegate'))).mode & 0o777, 0o750);
});

test('A second run of the first-boot script changes nothing and calls no tool that changes users or groups', async (t) => {
  const r = await makeRoot(t);
  t.is((await runScript(r)).code, 0);
  const before = await Promise.all(
    ['etc/passwd', 'etc/group', 'boot/firmware/config.txt', 'boot/firmware/cmdline.txt'].map((f) => readFile(join(r.root, f), 'utf8')),
  );
  await writeFile(r.log, '');
  const again = await runScript(r);
  t.is(again.code, 0, again.stderr);
  const after = await Promise.all(
    ['etc/passwd', 'etc/group', 'boot/firmware/config.txt', 'boot/firmware/cmdline.txt'].map((f) => readFile(join(r.root, f), 'utf8')),
  );
  t.deepEqual(after, before);
  t.notRegex(await readFile(r.log, 'utf8'), /useradd|groupadd|usermod/);
  t.notRegex(again.stdout, /reboot/);
});

test('Without a Raspberry Pi boot partition the first-boot script says what to do by hand and still sets up the user', async (t) => {
  const r = await makeRoot(t, false);
  const out = await runScript(r);
  t.is(out.code, 0);
  t.regex(out.stderr, /WARNING: no config\.txt .* enable the UART for the card and take the serial console off it yourself/);
  t.regex(await readFile(join(r.root, 'etc/passwd'), 'utf8'), /^homegate:/m);
});

test('An enable_uart=0 line is turned to enable_uart=1 rather than contradicted by a second one', async (t) => {
  const r = await makeRoot(t);
  await writeFile(join(r.root, 'boot/firmware/config.txt'), 'enable_uart=0\n');
  t.is((await runScript(r)).code, 0);
  t.is(await readFile(join(r.root, 'boot/firmware/config.txt'), 'utf8'), 'enable_uart=1\n');
});
