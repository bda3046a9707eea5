/**
 * `homegate config check` and `config show` as a household runs them, on
 * real files: every problem at once with exit code 2, the files the
 * configuration names checked (a key others may read is a problem), and the
 * effective configuration printed with defaults and without secret values.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { MASK, maskSecrets } from '../../gateway/config/config-check.js';
import { EXIT_CONFIG_INVALID } from '../../gateway/cli/config-commands.js';
import { runCli } from './cli-process.js';

async function dataDir(t: ExecutionContext): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'homegate-config-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function withPki(dir: string, keyMode = 0o600): Promise<void> {
  await mkdir(join(dir, 'pki'), { recursive: true });
  await writeFile(join(dir, 'pki/gateway.pem'), 'cert');
  await writeFile(join(dir, 'pki/household-ca.pem'), 'ca');
  await writeFile(join(dir, 'pki/gateway.key'), 'key', { mode: keyMode });
}

test('config check lists every problem of gateway.json at once and exits 2', async (t) => {
  const dir = await dataDir(t);
  await writeFile(join(dir, 'gateway.json'), JSON.stringify({ card: { baudRate: 5 }, terminalApi: { port: 70000 }, colour: 'blue' }));
  const r = await runCli(['--data', dir, 'config', 'check', '--json']);
  t.is(r.code, EXIT_CONFIG_INVALID, r.stderr);
  const out = JSON.parse(r.stdout) as { valid: boolean; problems: string[] };
  t.false(out.valid);
  const text = out.problems.join('\n');
  for (const p of [/^card\.device:/m, /^card\.baudRate:/m, /^terminalApi\.port:/m, /colour/]) t.regex(text, p);
});

test('config check reports a schema problem and a missing file together, not the file only on the next run', async (t) => {
  const dir = await dataDir(t);
  await writeFile(
    join(dir, 'gateway.json'),
    JSON.stringify({ card: { device: '/dev/serial0', adminKeyFile: 'pki/card-admin.key' }, terminalApi: { port: 70000 } }),
  );
  const r = await runCli(['--data', dir, 'config', 'check', '--json']);
  t.is(r.code, EXIT_CONFIG_INVALID, r.stderr);
  const text = (JSON.parse(r.stdout) as { problems: string[] }).problems.join('\n');
  t.regex(text, /^terminalApi\.port:/m);
  t.regex(text, /^card\.adminKeyFile: .*card-admin\.key/m);
});

test('config check finds a missing certificate and a private key that others may read', async (t) => {
  const dir = await dataDir(t);
  await withPki(dir, 0o644);
  await writeFile(join(dir, 'gateway.json'), JSON.stringify({ card: { device: '/dev/serial0', adminKeyFile: 'pki/card-admin.key' } }));
  const r = await runCli(['--data', dir, 'config', 'check']);
  t.is(r.code, EXIT_CONFIG_INVALID, r.stderr);
  t.regex(r.stdout, /terminalApi\.keyFile: .*mode is 0644/);
  t.regex(r.stdout, /card\.adminKeyFile: .*card-admin\.key/);
  t.regex(r.stdout, /2 problem\(s\)/);
});

test('config check exits 0 on a valid configuration whose files exist', async (t) => {
  const dir = await dataDir(t);
  await withPki(dir);
  await writeFile(join(dir, 'gateway.json'), JSON.stringify({ card: { device: 'tcp://127.0.0.1:7816' } }));
  const r = await runCli(['--data', dir, 'config', 'check']);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /valid/);
});

test('config show prints the effective configuration with the defaults filled in and key files as paths', async (t) => {
  const dir = await dataDir(t);
  await writeFile(
    join(dir, 'gateway.json'),
    JSON.stringify({ card: { device: '/dev/serial0' }, smtp: { host: 'mail.example', from: 'gw@example.org', user: 'gw', passwordFile: 'smtp.password' } }),
  );
  const r = await runCli(['--data', dir, 'config', 'show', '--json']);
  t.is(r.code, 0, r.stderr);
  const shown = JSON.parse(r.stdout) as { terminalApi: { port: number; keyFile: string }; card: { baudRate: number }; smtp: { passwordFile: string } };
  t.is(shown.terminalApi.port, 8443);
  t.is(shown.card.baudRate, 115200);
  t.is(shown.terminalApi.keyFile, 'pki/gateway.key');
  t.is(shown.smtp.passwordFile, 'smtp.password');
});

test('Secret values are masked wherever they sit, passwords in URLs included; paths to secret files are not', (t) => {
  const masked = maskSecrets({ mqtt: { password: 'hunter2', passwordFile: 'mqtt/pw', url: 'mqtt://gw:hunter2@broker:1883' }, x: [{ token: 'abc' }], n: 5 });
  t.deepEqual(masked, { mqtt: { password: MASK, passwordFile: 'mqtt/pw', url: `mqtt://gw:${MASK}@broker:1883` }, x: [{ token: MASK }], n: 5 });
  t.false(JSON.stringify(masked).includes('hunter2'));
});
