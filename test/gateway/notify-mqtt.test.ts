/**
 * The notifier's MQTT channel against real brokers: the embedded aedes broker
 * and a Mosquitto started by the test (own config, free port, persistence on).
 * Every scenario runs on both.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { readUnverifiedMailbox } from '../../card-io/access-card/mailbox.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../gateway/notify/embedded-broker.js';
import { createNotification, type Notification } from '../../gateway/notify/notification.js';
import { createNotifier, type Notifier } from '../../gateway/notify/notifier.js';
import { needsBinary, type RegisterTest } from '../helpers/binaries.js';
import { delay, freePort } from '../helpers/link-probes.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { pendingIdsOnDisk } from '../helpers/outbox-on-disk.js';

const CARD = 'fedcba9876543210';
const TERMINAL = '00112233aabbccdd';
const TOPIC = `homegate/terminals/${TERMINAL}/mail`;

function decision(seq: number): Notification {
  const record = {
    seq,
    cardId: CARD,
    market: 'shop.example',
    orderId: `o-${seq}`,
    amount: 500 + seq,
    currency: 'EUR',
    time: '2025-03-01T10:00:00.000Z',
    status: 'paid' as const,
  };
  return createNotification({ type: 'decision', cardId: CARD, seq, terminalId: TERMINAL, mail: 'owner@home.example', record });
}

/** A broker a scenario can stop, restart on the same port, and freeze (it then acknowledges nothing). */
interface BrokerUnderTest {
  readonly url: string;
  stop(): Promise<void>;
  /** Starts it again on the same port; `holdClientId`'s CONNECTs are refused until `release()`. */
  restart(holdClientId?: string): Promise<void>;
  release(): void;
  freeze(): void;
  thaw(): void;
  dispose(): Promise<void>;
}

async function aedesBroker(): Promise<BrokerUnderTest> {
  let broker: EmbeddedBroker = await startEmbeddedBroker({ port: 0 });
  const port = broker.port;
  let held: string | undefined;
  let frozen: (() => void)[] | undefined;
  const hooks = (b: EmbeddedBroker) => {
    // Installed before any socket is read: startEmbeddedBroker resolves from the listen callback.
    b.aedes.authenticate = (client, _u, _p, done) =>
      client.id === held ? done(Object.assign(new Error('held by the test'), { returnCode: 3 }), false) : done(null, true);
    b.aedes.authorizePublish = (_client, _packet, callback) => (frozen ? frozen.push(() => callback(null)) : callback(null));
  };
  hooks(broker);
  return {
    url: broker.url,
    stop: () => broker.stop(),
    async restart(holdClientId) {
      held = holdClientId;
      broker = await startEmbeddedBroker({ port });
      hooks(broker);
    },
    release: () => (held = undefined),
    freeze: () => (frozen = []),
    thaw() {
      const release = frozen ?? [];
      frozen = undefined;
      for (const go of release) go();
    },
    dispose: () => broker.stop(),
  };
}

async function mosquittoBroker(): Promise<BrokerUnderTest> {
  const m = await startMosquitto();
  // Mosquitto keeps sessions (and their queued QoS 1 messages) across a restart: nothing to hold back.
  return { url: m.url, stop: m.stop, restart: m.start, release: () => undefined, freeze: m.freeze, thaw: m.thaw, dispose: m.dispose };
}

interface Received {
  id: string;
  qos: number;
  retain: boolean;
}

/** A test subscriber (QoS 1); `clean: false` keeps its session (and subscription) across reconnects. */
async function subscribe(t: ExecutionContext, url: string, topic: string, clean = true): Promise<{ client: MqttClient; received: Received[] }> {
  const client = mqtt.connect(url, { clientId: `test-sub-${randomBytes(4).toString('hex')}`, clean, reconnectPeriod: 100 });
  t.teardown(() => client.endAsync(true));
  const received: Received[] = [];
  client.on('message', (_topic, payload, packet) => {
    received.push({ id: (JSON.parse(payload.toString()) as Notification).id, qos: packet.qos, retain: packet.retain });
  });
  client.on('error', () => undefined);
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  await client.subscribeAsync(topic, { qos: 1 });
  return { client, received };
}

async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await delay(25);
  }
}

async function gateway(t: ExecutionContext, url: string, dataDir?: string): Promise<{ notifier: Notifier; dataDir: string; clientId: string }> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'homegate-notify-')));
  if (dataDir === undefined) t.teardown(() => rm(dir, { recursive: true, force: true }));
  const clientId = `homegate-gateway-${randomBytes(4).toString('hex')}`;
  const notifier = await createNotifier({ dataDir: dir, mqtt: { url, clientId, reconnectPeriodMs: 200, connectTimeoutMs: 2000 }, retry: { initialMs: 100 } });
  t.teardown(() => notifier.stop());
  return { notifier, dataDir: dir, clientId };
}

/** The retained messages under homegate/gateway/ as a fresh subscriber sees them, once `expected` topics arrived (or 5 s). */
async function retained(url: string, expected: number): Promise<Map<string, string>> {
  const client = mqtt.connect(url, { reconnectPeriod: 0 });
  const seen = new Map<string, string>();
  client.on('message', (topic, payload, packet) => packet.retain && seen.set(topic, payload.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync('homegate/gateway/#', { qos: 1 });
    for (const deadline = Date.now() + 5000; seen.size < expected && Date.now() < deadline; ) await delay(20);
    return seen;
  } finally {
    await client.endAsync(true);
  }
}

const mosquitto = needsBinary('mosquitto');
const brokers: [string, () => Promise<BrokerUnderTest>, RegisterTest][] = [
  ['the embedded aedes broker', aedesBroker, test],
  ['Mosquitto', mosquittoBroker, mosquitto.test],
];

for (const [name, start, register] of brokers) {
  const withBroker = async (t: ExecutionContext): Promise<BrokerUnderTest> => {
    const broker = await start();
    t.teardown(() => broker.dispose());
    return broker;
  };

  register(`${name}: a notification reaches a subscriber once with QoS 1 and leaves the outbox only after the PUBACK`, async (t) => {
    const broker = await withBroker(t);
    const sub = await subscribe(t, broker.url, TOPIC);
    const gw = await gateway(t, broker.url);
    broker.freeze();
    await gw.notifier.notify(decision(1));
    await delay(500);
    t.is((await pendingIdsOnDisk(gw.dataDir)).length, 1, 'no PUBACK yet: still in the outbox');
    t.is(gw.notifier.pending(), 1);
    broker.thaw();
    await gw.notifier.flush(10_000);
    t.deepEqual(await pendingIdsOnDisk(gw.dataDir), []);
    await eventually('the subscriber got it', () => sub.received.length >= 1);
    await delay(300);
    t.deepEqual(sub.received, [{ id: decision(1).id, qos: 1, retain: false }]);
  });

  register(`${name}: with the broker stopped notify() still resolves, and after its restart every notification arrives`, async (t) => {
    const broker = await withBroker(t);
    const sub = await subscribe(t, broker.url, TOPIC, false);
    const gw = await gateway(t, broker.url);
    await broker.stop();
    const sent = [1, 2, 3, 4, 5].map(decision);
    for (const n of sent) await gw.notifier.notify(n);
    t.is((await pendingIdsOnDisk(gw.dataDir)).length, 5);
    await delay(500); // reconnect attempts fail meanwhile
    t.is((await pendingIdsOnDisk(gw.dataDir)).length, 5, 'nothing is dropped while the broker is down');
    await broker.restart(gw.clientId);
    await eventually('the subscriber reconnected', () => sub.client.connected);
    await sub.client.subscribeAsync(TOPIC, { qos: 1 }); // the embedded broker forgot it; Mosquitto kept it
    broker.release();
    await gw.notifier.flush(15_000);
    await eventually('all five arrived', () => new Set(sub.received.map((r) => r.id)).size === 5);
    t.deepEqual([...new Set(sub.received.map((r) => r.id))].sort(), sent.map((n) => n.id).sort());
    t.deepEqual(await pendingIdsOnDisk(gw.dataDir), []);
  });

  register(`${name}: a restarted gateway resends what was pending when it stopped`, async (t) => {
    const broker = await withBroker(t);
    const sub = await subscribe(t, broker.url, TOPIC);
    const unreachable = `mqtt://127.0.0.1:${await freePort()}`;
    const before = await gateway(t, unreachable);
    for (const seq of [7, 8, 9]) await before.notifier.notify(decision(seq));
    await before.notifier.stop();
    const after = await gateway(t, broker.url, before.dataDir);
    t.is(after.notifier.pending(), 3);
    await after.notifier.flush(10_000);
    await eventually('the three arrived', () => sub.received.length >= 3);
    t.deepEqual(sub.received.map((r) => r.id).sort(), [7, 8, 9].map((s) => decision(s).id).sort());
  });

  register(`${name}: one event enqueued twice is one id, and the mailbox hands a resent duplicate out once`, async (t) => {
    const broker = await withBroker(t);
    await readUnverifiedMailbox({ url: broker.url, terminalId: TERMINAL, idleMs: 100 }); // creates the persistent session
    const sub = await subscribe(t, broker.url, TOPIC);
    const gw = await gateway(t, broker.url);
    const n = decision(11);
    await Promise.all([gw.notifier.notify(n), gw.notifier.notify(decision(11))]);
    await gw.notifier.flush(10_000);
    await gw.notifier.notify(n); // after delivery: remembered, not sent again
    await eventually('the subscriber got it', () => sub.received.length >= 1);
    await delay(300);
    t.deepEqual(
      sub.received.map((r) => r.id),
      [n.id],
    );
    await sub.client.publishAsync(TOPIC, JSON.stringify(n), { qos: 1 }); // an at-least-once resend
    const read = await readUnverifiedMailbox({ url: broker.url, terminalId: TERMINAL, idleMs: 300 });
    t.deepEqual(
      read.messages.map((m) => m.id),
      [n.id],
    );
    t.is(read.duplicates, 1);
  });

  register(`${name}: the mailbox's persistent session receives what was published while the terminal was offline`, async (t) => {
    const broker = await withBroker(t);
    const first = await readUnverifiedMailbox({ url: broker.url, terminalId: TERMINAL, idleMs: 100 });
    t.false(first.sessionPresent);
    t.deepEqual(first.messages, []);
    const gw = await gateway(t, broker.url);
    for (const seq of [21, 22]) await gw.notifier.notify(decision(seq));
    await gw.notifier.flush(10_000);
    const second = await readUnverifiedMailbox({ url: broker.url, terminalId: TERMINAL, idleMs: 300 });
    t.true(second.sessionPresent);
    t.deepEqual(
      second.messages.map((m) => m.id),
      [decision(21).id, decision(22).id],
    );
    t.is(second.messages[0]?.notification.type, 'decision');
    // At-least-once: a broker may hand an acknowledged message out again (e.g. PUBACK and DISCONNECT
    // processed out of order); the ids a terminal has already read keep it from showing twice.
    const third = await readUnverifiedMailbox({ url: broker.url, terminalId: TERMINAL, idleMs: 200, seen: new Set(second.messages.map((m) => m.id)) });
    t.deepEqual(third.messages, [], 'what was read is not handed out again');
  });

  register(`${name}: availability is retained online while connected and offline after stop, and the status is retained JSON`, async (t) => {
    const broker = await withBroker(t);
    const gw = await gateway(t, broker.url);
    await gw.notifier.publishStatus({ version: '0.1.0', card: 'present' }); // before the CONNACK: published on connect
    await eventually('a new subscriber gets both retained', async () => (await retained(broker.url, 2)).size === 2);
    t.deepEqual(
      await retained(broker.url, 2),
      new Map([
        ['homegate/gateway/availability', 'online'],
        ['homegate/gateway/status', '{"card":"present","version":"0.1.0"}'],
      ]),
    );
    await gw.notifier.stop();
    t.is((await retained(broker.url, 2)).get('homegate/gateway/availability'), 'offline');
  });
}

test('The embedded broker publishes the retained last will "offline" when the gateway vanishes without a goodbye', async (t) => {
  const broker = await startEmbeddedBroker({ port: 0 });
  t.teardown(() => broker.stop());
  const gw = await gateway(t, broker.url);
  const connected = await new Promise<{ conn: { destroy(): void } }>((resolve) => {
    broker.aedes.on('clientReady', (client) => client.id === gw.clientId && resolve(client));
  });
  const states: string[] = [];
  const sub = mqtt.connect(broker.url, { reconnectPeriod: 0 });
  t.teardown(() => sub.endAsync(true));
  sub.on('message', (_topic, payload) => states.push(payload.toString()));
  await sub.subscribeAsync('homegate/gateway/availability', { qos: 1 });
  await eventually('online', () => states.at(-1) === 'online');
  connected.conn.destroy(); // the gateway's connection is cut: no DISCONNECT
  await eventually('the will says offline', () => states.includes('offline'));
  await eventually('online again after the reconnect', () => states.at(-1) === 'online');
  t.deepEqual(states.slice(-2), ['offline', 'online']);
});
