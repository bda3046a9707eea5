/**
 * What a new gateway's data directory starts with, from the answers to
 * `homegate provision device` (device-state.ts), checked without building a
 * bundle: gateway.json from the answers, secrets only in 0600 files that
 * gateway.json names, and the household root key refused wherever it hides.
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { buildDeviceState } from '../../gateway/device/device-state.js';
import { makeTestHousehold } from '../helpers/device-household.js';

async function household(t: ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-household-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return makeTestHousehold(dir);
}

test('The answers become gateway.json, and the broker password and card admin key go to 0600 files it names, not into it', async (t) => {
  const h = await household(t);
  await writeFile(join(h.dir, 'mqtt.pw'), 'broker-secret-1\n', { mode: 0o600 });
  await writeFile(join(h.dir, 'admin.key'), 'aa'.repeat(32), { mode: 0o600 });
  const files = await buildDeviceState(h.dir, {
    cardDevice: '/dev/serial0',
    port: 9443,
    mqttUrl: 'mqtt://127.0.0.1:1883',
    mqttTerminalUrl: 'mqtts://gw.local:8883',
    mqttUsername: 'homegate-gateway',
    mqttPasswordFile: join(h.dir, 'mqtt.pw'),
    cardAdminKeyFile: join(h.dir, 'admin.key'),
    baseConfig: { sessions: { idleTimeoutSeconds: 120 } },
  });
  const byPath = new Map(files.map((f) => [f.path, f]));
  const config = JSON.parse(byPath.get('gateway.json')!.data.toString('utf8'));
  t.deepEqual(config, {
    sessions: { idleTimeoutSeconds: 120 },
    card: { device: '/dev/serial0', adminKeyFile: 'pki/card-admin.key' },
    terminalApi: { port: 9443 },
    mqtt: { url: 'mqtt://127.0.0.1:1883', terminalUrl: 'mqtts://gw.local:8883', username: 'homegate-gateway', passwordFile: 'mqtt/gateway.password' },
  });
  t.false(byPath.get('gateway.json')!.data.toString().includes('broker-secret-1'));
  t.is(byPath.get('mqtt/gateway.password')!.data.toString(), 'broker-secret-1\n');
  t.true(byPath.get('mqtt/gateway.password')!.secret);
  t.true(byPath.get('pki/card-admin.key')!.secret);
  t.deepEqual([...byPath.keys()].filter((p) => p.startsWith('pki/')).sort(), [
    'pki/card-admin.key',
    'pki/enrollment-ca.key',
    'pki/enrollment-ca.pem',
    'pki/gateway.key',
    'pki/gateway.pem',
    'pki/household-ca.pem',
  ]);
});

test('Answers the gateway would refuse are refused before anything is built, every problem at once', async (t) => {
  const h = await household(t);
  const e = await t.throwsAsync(buildDeviceState(h.dir, { cardDevice: '', port: 8443, baseConfig: { card: { baudRate: 3 }, colour: 'red' } }));
  t.regex(e!.message, /card\.device/);
  t.regex(e!.message, /card\.baudRate/);
  t.regex(e!.message, /colour/);
});

test('A broker password file that others may read is refused, naming the file', async (t) => {
  const h = await household(t);
  await writeFile(join(h.dir, 'mqtt.pw'), 'pw', { mode: 0o644 });
  await t.throwsAsync(buildDeviceState(h.dir, { cardDevice: '/dev/serial0', mqttUrl: 'mqtt://127.0.0.1', mqttPasswordFile: join(h.dir, 'mqtt.pw') }), {
    message: /mqtt\.pw holds a secret but its mode is 0644/,
  });
});

test('A household whose enrollment key is the root key is refused: the root never goes onto a gateway', async (t) => {
  const h = await household(t);
  await copyFile(join(h.dir, 'household-ca.key'), join(h.dir, 'gateway/pki/enrollment-ca.key'));
  await t.throwsAsync(buildDeviceState(h.dir, { cardDevice: '/dev/serial0' }), { message: /enrollment-ca\.key .* is the household root key/ });
});
