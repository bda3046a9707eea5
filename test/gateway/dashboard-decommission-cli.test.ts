/**
 * `homegate gateway decommission` as a user runs it (the compiled CLI as its
 * own process): with the gateway stopped it logs in as the gateway's broker
 * user from gateway.json and clears the retained discovery, state, status and
 * availability (exit 0, `--json` lists them); a broker that cannot be reached
 * is exit 1 with a message naming the problem.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { GATEWAY_BROKER_USER } from '../../gateway/notify/broker-users.js';
import { startEmbeddedBroker } from '../../gateway/notify/embedded-broker.js';
import { connectAs, DASHBOARD_USER, makeLogins, record, tempDir } from '../helpers/dashboard-rig.js';
import { delay, freePort } from '../helpers/link-probes.js';
import { runCli } from './cli-process.js';

async function dataDir(t: ExecutionContext, url: string, password: string): Promise<string> {
  const dir = await tempDir(t, 'homegate-decommission-');
  await mkdir(join(dir, 'mqtt'));
  await writeFile(join(dir, 'mqtt', 'gateway.password'), `${password}\n`, { mode: 0o600 });
  const config = { card: { device: 'tcp://127.0.0.1:1' }, mqtt: { url, username: GATEWAY_BROKER_USER, passwordFile: 'mqtt/gateway.password' } };
  await writeFile(join(dir, 'gateway.json'), JSON.stringify(config), { mode: 0o600 });
  return dir;
}

test('decommission clears what the gateway left retained and lists it with --json; an unreachable broker is exit 1', async (t) => {
  const logins = await makeLogins(t);
  const broker = await startEmbeddedBroker({ port: 0, passwordFile: logins.passwordFile });
  t.teardown(() => broker.stop());
  const gw = await connectAs(t, broker.url, logins, GATEWAY_BROKER_USER);
  const discovery = 'homeassistant/device/homegate-homegate_gateway/config';
  for (const [topic, payload] of [
    [discovery, '{"dev":{}}'],
    ['homegate/gateway/state', '{}'],
    ['homegate/gateway/availability', 'offline'],
  ] as const) {
    await gw.publishAsync(topic, payload, { qos: 1, retain: true });
  }
  await gw.endAsync();

  const dir = await dataDir(t, broker.url, logins.password[GATEWAY_BROKER_USER]!);
  const r = await runCli(['--data', dir, 'gateway', 'decommission', '--json'], { timeoutMs: 30_000 });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { cleared: [discovery, 'homegate/gateway/state', 'homegate/gateway/status', 'homegate/gateway/availability'] });
  const view = await record(await connectAs(t, broker.url, logins, DASHBOARD_USER), [
    'homegate/gateway/state',
    'homegate/gateway/availability',
    'homeassistant/#',
  ]);
  await delay(300);
  t.deepEqual(view.messages, [], 'nothing retained is left');

  const nowhere = await dataDir(t, `mqtt://127.0.0.1:${await freePort()}`, 'x');
  const down = await runCli(['--data', nowhere, 'gateway', 'decommission', '--json'], { timeoutMs: 30_000 });
  t.is(down.code, 1);
  t.regex(down.stderr, /broker-unreachable|Could not clear/);
});

test('decommission refuses while the gateway runs (its admin socket answers), and the retained discovery stays', async (t) => {
  const logins = await makeLogins(t);
  const broker = await startEmbeddedBroker({ port: 0, passwordFile: logins.passwordFile });
  t.teardown(() => broker.stop());
  const gw = await connectAs(t, broker.url, logins, GATEWAY_BROKER_USER);
  const discovery = 'homeassistant/device/homegate-homegate_gateway/config';
  await gw.publishAsync(discovery, '{"dev":{}}', { qos: 1, retain: true });
  await gw.endAsync();
  const dir = await dataDir(t, broker.url, logins.password[GATEWAY_BROKER_USER]!);
  const admin = net.createServer((c) => c.destroy());
  await new Promise<void>((resolve) => admin.listen(join(dir, 'gateway.sock'), resolve));
  t.teardown(() => new Promise<void>((resolve) => admin.close(() => resolve())));

  const r = await runCli(['--data', dir, 'gateway', 'decommission', '--json'], { timeoutMs: 30_000 });
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /gateway is running/);
  const view = await record(await connectAs(t, broker.url, logins, DASHBOARD_USER), ['homeassistant/#']);
  await view.until(() => view.last(discovery) !== undefined, 'the discovery still retained');
  t.pass();
});
