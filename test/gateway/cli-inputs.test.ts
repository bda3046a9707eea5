/**
 * Command-line inputs, with the real `homegate` process: `--json` only ever
 * asks for machine-readable output (the body of `terminal post` is
 * `--body`), `terminal session --out` refuses a symbolic link before asking
 * for any PIN, and `status --wait` also waits for gateway.json to appear,
 * as when it is started together with a first `npm start`.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { replaceFileAtomically } from '../../card-io/base/durable/atomic-file.js';
import { GatewayNotConfigured, waitForGatewayTarget } from '../../gateway/cli/wait-for-gateway.js';
import { setupGateway } from '../../gateway/setup/gateway-setup.js';
import { runCli, transcript } from './cli-process.js';

async function tempDir(t: ExecutionContext): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'homegate-cli-inputs-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** A gateway set up in its own directory, whose health endpoint answers on a free port. */
async function healthServer(t: ExecutionContext): Promise<{ dir: string; port: number }> {
  const dir = await tempDir(t);
  await setupGateway({ dataDir: dir, cardDevice: 'tcp://127.0.0.1:1', hosts: ['localhost', '127.0.0.1'], port: 8443 });
  const server = createServer(
    { cert: await readFile(join(dir, 'pki', 'gateway.pem')), key: await readFile(join(dir, 'pki', 'gateway.key')), minVersion: 'TLSv1.3' },
    (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, version: 'test', card: 'absent' }));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { dir, port: (server.address() as AddressInfo).port };
}

/** Make `dir` a data directory for the gateway of `from`, listening on `port`: the CA first, gateway.json last and atomically. */
async function configureLike(from: string, dir: string, port: number): Promise<void> {
  await mkdir(join(dir, 'pki'), { recursive: true });
  await copyFile(join(from, 'pki', 'household-ca.pem'), join(dir, 'pki', 'household-ca.pem'));
  const config = JSON.parse(await readFile(join(from, 'gateway.json'), 'utf8')) as { terminalApi: { port: number } };
  config.terminalApi.port = port;
  await replaceFileAtomically(join(dir, 'gateway.json'), JSON.stringify(config));
}

test('When terminal post is given --json with a value, it refuses and names --body, before asking for any PIN', async (t) => {
  const data = await tempDir(t);
  const r = await runCli(['--data', data, 'terminal', 'post', 'sandbox', '/orders', '--json', '{"item":"coffee-250g"}']);
  t.is(r.code, 2, transcript(r));
  t.regex(r.stderr, /--body/);
  t.notRegex(r.stderr, /PIN/);
});

test('When terminal post has a --body that is not JSON, it refuses before asking for any PIN', async (t) => {
  const data = await tempDir(t);
  const r = await runCli(['--data', data, 'terminal', 'post', 'sandbox', '/orders', '--body', '{item:']);
  t.is(r.code, 2, transcript(r));
  t.regex(r.stderr, /not valid JSON/);
});

test('When terminal post is asked for help, --body is the request body and --json is machine-readable output', async (t) => {
  const r = await runCli(['terminal', 'post', '--help']);
  t.regex(r.stdout, /--body <json>\s+request body/);
  t.regex(r.stdout, /--json\s+machine-readable output/);
});

test('When terminal session --out names a symbolic link, it refuses before asking for any PIN and the link target is unchanged', async (t) => {
  const data = await tempDir(t);
  const victim = join(data, 'victim.txt');
  await writeFile(victim, 'keep me');
  await symlink(victim, join(data, 's.pem'));
  const r = await runCli(['--data', data, 'terminal', 'session', 'sandbox', '--out', join(data, 's.pem')]);
  t.is(r.code, 1, transcript(r));
  t.regex(r.stderr, /symbolic link/);
  t.is(await readFile(victim, 'utf8'), 'keep me');
});

test('When status --wait starts before gateway.json exists, it waits for the file and then for the gateway', async (t) => {
  const gateway = await healthServer(t);
  const data = await tempDir(t);
  const status = runCli(['--data', data, 'status', '--wait', '60', '--json'], { timeoutMs: 90_000 });
  // The first `npm start` creates the data directory a little later; the order is what matters, not the delay.
  await new Promise((r) => setTimeout(r, 1500));
  await configureLike(gateway.dir, data, gateway.port);
  const r = await status;
  t.is(r.code, 0, transcript(r));
  t.like(JSON.parse(r.stdout) as object, { ok: true, version: 'test' });
});

test('When status --wait runs out of time without gateway.json, it says that no gateway is set up', async (t) => {
  const data = await tempDir(t);
  const r = await runCli(['--data', data, 'status', '--wait', '1']);
  t.is(r.code, 1, transcript(r));
  t.regex(r.stderr, /no gateway\.json/);
  t.notRegex(r.stderr, /ENOENT/);
});

test('When the configuration appears only after some tries, waitForGatewayTarget keeps trying and reaches the gateway', async (t) => {
  const gateway = await healthServer(t);
  const ca = await readFile(join(gateway.dir, 'pki', 'household-ca.pem'));
  let tries = 0;
  const health = await waitForGatewayTarget(async () => {
    if (++tries < 4) throw new GatewayNotConfigured('not yet');
    return { url: `https://127.0.0.1:${gateway.port}`, ca };
  }, 30_000);
  t.is(tries, 4);
  t.true(health.ok);
});
