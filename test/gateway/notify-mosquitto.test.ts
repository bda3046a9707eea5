/**
 * What only a household's Mosquitto does: persistence across broker restarts,
 * and the deploy/mosquitto configuration and ACL, run as shipped (listeners,
 * paths and log destination swapped for the test's own).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ExecutionContext } from 'ava';
import mqtt from 'mqtt';
import { isMailboxError, readUnverifiedMailbox } from '../../card-io/access-card/mailbox.js';
import { createNotification, type Notification } from '../../gateway/notify/notification.js';
import { createNotifier, type Notifier } from '../../gateway/notify/notifier.js';
import type { MqttNotifierOptions } from '../../gateway/notify/mqtt-notifier.js';
import { needsBinary } from '../helpers/binaries.js';
import { delay } from '../helpers/link-probes.js';
import { shippedMosquittoConfig, startMosquitto } from '../helpers/mosquitto.js';

const mosquitto = needsBinary('mosquitto');
const CARD = '1111222233334444';
const ALICE = 'aaaaaaaaaaaaaaaa';
const BOB = 'bbbbbbbbbbbbbbbb';
const CAROL = 'cccccccccccccccc';

function decision(seq: number, terminalId: string): Notification {
  const record = {
    seq,
    cardId: CARD,
    market: 'shop.example',
    orderId: `o-${seq}`,
    amount: 100,
    currency: 'EUR',
    time: '2025-03-01T10:00:00.000Z',
    status: 'paid' as const,
  };
  return createNotification({ type: 'decision', cardId: CARD, seq, terminalId, mail: `${terminalId}@home.example`, record });
}

async function gateway(t: ExecutionContext, mqttOptions: MqttNotifierOptions): Promise<Notifier> {
  const dataDir = await mkdtemp(join(tmpdir(), 'homegate-notify-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const notifier = await createNotifier({ dataDir, mqtt: { reconnectPeriodMs: 200, ...mqttOptions } });
  t.teardown(() => notifier.stop());
  return notifier;
}

mosquitto.test('Mail queued for an offline terminal survives a Mosquitto restart (persistence on)', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.dispose());
  await readUnverifiedMailbox({ url: broker.url, terminalId: ALICE, idleMs: 100 }); // the persistent session
  const notifier = await gateway(t, { url: broker.url });
  for (const seq of [1, 2]) await notifier.notify(decision(seq, ALICE));
  await notifier.flush(10_000);
  await notifier.stop();
  await broker.stop();
  await broker.start();
  const read = await readUnverifiedMailbox({ url: broker.url, terminalId: ALICE, idleMs: 300 });
  t.true(read.sessionPresent);
  t.deepEqual(
    read.messages.map((m) => m.id),
    [decision(1, ALICE).id, decision(2, ALICE).id],
  );
});

mosquitto.test('With the shipped config and ACL a terminal reads its own mail and nothing else, and cannot forge any', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-mosquitto-users-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const passwordFile = join(dir, 'homegate.passwd');
  const passwd = promisify(execFile);
  await passwd('mosquitto_passwd', ['-c', '-b', passwordFile, 'homegate-gateway', 'gateway-secret']);
  await passwd('mosquitto_passwd', ['-b', passwordFile, ALICE, 'alice-secret']);
  await passwd('mosquitto_passwd', ['-b', passwordFile, BOB, 'bob-secret']);
  await passwd('mosquitto_passwd', ['-b', passwordFile, CAROL, 'carol-secret']);
  const broker = await startMosquitto({ config: (ctx) => shippedMosquittoConfig(ctx, passwordFile) });
  t.teardown(() => broker.dispose());
  const alice = { url: broker.url, terminalId: ALICE, username: ALICE, password: 'alice-secret', idleMs: 300 };
  const bob = { ...alice, terminalId: BOB, username: BOB, password: 'bob-secret' };
  for (const session of [alice, bob]) await readUnverifiedMailbox(session);
  // Carol, another enrolled terminal (her own login: the client id is the user name, so she cannot touch Alice's or Bob's session).
  const snooper = mqtt.connect(broker.url, { clientId: 'carol-snooping', username: CAROL, password: 'carol-secret', reconnectPeriod: 0 });
  t.teardown(() => snooper.endAsync(true));
  const snooped: string[] = [];
  snooper.on('message', (topic) => snooped.push(topic));
  await new Promise<void>((resolve) => snooper.once('connect', () => resolve()));
  // Whether a denied subscription is refused (SUBACK 0x80) or silently granted depends on the Mosquitto version.
  await snooper.subscribeAsync(`homegate/terminals/${BOB}/mail`, { qos: 1 });

  const anonymous = await t.throwsAsync(readUnverifiedMailbox({ url: broker.url, terminalId: ALICE, idleMs: 100 }));
  t.true(isMailboxError(anonymous, 'broker-refused'), anonymous?.message);

  const notifier = await gateway(t, { url: broker.url, username: 'homegate-gateway', password: 'gateway-secret' });
  await notifier.notify(decision(5, ALICE));
  await notifier.notify(decision(6, BOB));
  await notifier.flush(10_000);
  const forger = mqtt.connect(broker.url, { username: CAROL, password: 'carol-secret', reconnectPeriod: 0 });
  t.teardown(() => forger.endAsync(true));
  await new Promise<void>((resolve) => forger.once('connect', () => resolve()));
  await forger.publishAsync(`homegate/terminals/${ALICE}/mail`, JSON.stringify(decision(99, ALICE)), { qos: 1 });
  await delay(200);

  t.deepEqual(
    (await readUnverifiedMailbox(alice)).messages.map((m) => m.id),
    [decision(5, ALICE).id],
  );
  t.deepEqual(
    (await readUnverifiedMailbox(bob)).messages.map((m) => m.id),
    [decision(6, BOB).id],
  );
  t.deepEqual(snooped, [], "Carol never sees Bob's mail");
});
