/**
 * Never a secret on the broker: everything the gateway publishes (state,
 * events, responses, discovery, terminals' mail) during a flow with a wrong
 * and a right PIN, a payment and a dashboard request, read by a spy logged in
 * as the gateway's own user (it may read the whole tree), holds no PIN, no
 * private key and no broker password; and the gateway's log lines, at trace
 * level, hold no broker password either (test/e2e/log-secrets.test.ts covers
 * PINs, keys and sessions in logs).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import mqtt from 'mqtt';
import { GATEWAY_PASSWORD_FILE } from '../../deploy/sandbox/household/sandbox-mail.js';
import { GATEWAY_BROKER_USER } from '../../gateway/notify/broker-users.js';
import { capturingLogger, delay } from '../helpers/link-probes.js';
import { DEMO_PINS, SANDBOX_MARKET, startPurseHousehold } from '../helpers/household/index.js';
import { ANY_PRIVATE_KEY, findSecrets, pinNeedle, privateKeyNeedle, stringsOf, type Needle } from './secret-needles.js';

test('Nothing the gateway publishes over MQTT, nor any line it logs, holds a PIN, a private key or a broker password', async (t) => {
  const logger = capturingLogger();
  const h = await startPurseHousehold(t, { logger });
  const gatewayPassword = (await readFile(join(h.dataDir, GATEWAY_PASSWORD_FILE), 'utf8')).trim();
  const spy = await mqtt.connectAsync(h.mqttUrl, {
    username: GATEWAY_BROKER_USER,
    password: gatewayPassword,
    clientId: `${GATEWAY_BROKER_USER}-spy`,
    reconnectPeriod: 0,
  });
  t.teardown(() => spy.endAsync(true));
  const seen: Array<{ topic: string; payload: string }> = [];
  spy.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString('utf8') }));
  await spy.subscribeAsync(['homegate/#', 'homeassistant/#'], { qos: 1 });

  const wrong = await h.accessCard(async (which) => (which === 'PIN1' ? '4321' : '8765'));
  await t.throwsAsync(wrong.unlock());
  await delay(1200); // PinThrottle after a wrong PIN1
  const access = await h.accessCard();
  await access.unlock();
  const order = await h.createOrder(access, 'mug');
  await access.pay(SANDBOX_MARKET, order.orderId);
  await spy.publishAsync('homegate/gateway/request/refresh', '{"transaction":"spy"}', { qos: 1 });
  const deadline = Date.now() + 10_000;
  while (!seen.some((m) => m.topic.endsWith('/mail')) || !seen.some((m) => m.topic === 'homegate/gateway/response/refresh')) {
    if (Date.now() > deadline) break;
    await delay(50);
  }
  t.true(
    seen.some((m) => m.topic.endsWith('/mail')),
    'the payment was mailed',
  );
  t.true(seen.some((m) => m.topic === 'homegate/gateway/state'));
  t.true(seen.some((m) => m.topic.startsWith('homeassistant/')));

  const profile = await h.profile();
  const needles: Needle[] = [
    pinNeedle('PIN1', DEMO_PINS.pin1),
    pinNeedle('PIN2', DEMO_PINS.pin2),
    pinNeedle('PUK', DEMO_PINS.puk),
    pinNeedle('PIN1', '4321'),
    pinNeedle('PIN2', '8765'),
    ANY_PRIVATE_KEY,
    { what: "the gateway's broker password", texts: [gatewayPassword] },
    { what: "the terminal's broker password", texts: [profile.broker!.password] },
  ];
  for (const e of await readdir(h.dataDir, { recursive: true, withFileTypes: true })) {
    const file = join(e.parentPath, e.name);
    if (e.isFile() && e.name.endsWith('.key') && e.name !== 'card-admin.key') needles.push(privateKeyNeedle(file, await readFile(file, 'utf8')));
    if (e.isFile() && e.name.endsWith('.password')) needles.push({ what: `the broker password in ${e.name}`, texts: [(await readFile(file, 'utf8')).trim()] });
  }
  t.deepEqual(
    findSecrets(
      seen.flatMap((m) => [m.topic, m.payload]),
      needles,
    ),
    [],
    'MQTT payloads',
  );
  t.true(logger.records.length > 20, `the gateway logged ${logger.records.length} records`);
  t.deepEqual(
    findSecrets(
      logger.records.flatMap((r) => stringsOf([r.msg, r.fields])),
      needles,
    ),
    [],
    'gateway log',
  );
});
