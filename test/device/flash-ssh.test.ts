/**
 * `homegate provision device --target ssh://…` end to end, with the
 * system's `ssh` replaced by a stand-in on PATH that runs the remote command
 * here: the bundle streams as tar, is unpacked in a temporary folder on the
 * "board", and installs itself with the bundle's own Node.js (built for this
 * machine's architecture) through `homegate gateway install-release`.
 */
import { chmod, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runCli } from '../gateway/cli-process.js';
import { makeTestHousehold } from '../helpers/device-household.js';

/** The bundle runs on this machine, so it is built for this machine's architecture. */
const HOST_ARCH = process.arch === 'arm64' ? 'arm64' : 'x64';

test('provision device over ssh:// installs the release and the data directory with the bundle’s own Node.js on the board', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'homegate-ssh-flash-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const household = await makeTestHousehold(join(work, 'household'));
  const root = await mkdtemp(join(work, 'root-'));
  const bin = await mkdtemp(join(work, 'bin-'));
  const log = join(work, 'ssh.log');
  await writeFile(join(bin, 'ssh'), `#!/bin/sh\nprintf '%s\\n' "$@" >${JSON.stringify(log)}\nfor last; do :; done\nexec sh -c "$last"\n`);
  await chmod(join(bin, 'ssh'), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`; // runCli passes this environment on
  t.teardown(() => {
    process.env.PATH = path;
  });
  const r = await runCli(
    [
      'provision',
      'device',
      '--target',
      `ssh://root@board${root}`,
      '--arch',
      HOST_ARCH,
      '--household',
      household.dir,
      '--card-device',
      '/dev/ttyUSB0',
      '--json',
    ],
    { timeoutMs: 170_000 },
  );
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { manifest: { release: string }; install: { release: string; stateWritten: string[] } };
  t.is(out.install.release, out.manifest.release);
  t.true(out.install.stateWritten.includes('gateway.json'));
  t.is(await readlink(join(root, 'opt/homegate/current')), `releases/${out.manifest.release}`);
  t.regex(await readFile(join(root, 'etc/systemd/system/homegate.service.d/card-device.conf'), 'utf8'), /BindsTo=dev-ttyUSB0\.device/);
  const args = (await readFile(log, 'utf8')).split('\n');
  t.true(args.includes('root@board'));
  t.regex(args.find((a) => a.includes('install-release')) ?? '', /release\/node\/bin\/node" "\$t\/release\/app\/bin\/homegate\.js" gateway install-release/);
});
