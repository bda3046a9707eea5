/**
 * Who may do what on the broker, against both brokers a household runs: the
 * embedded one (the sandbox's, with the gateway's password file) and a real
 * Mosquitto with deploy/mosquitto/homegate.conf and acl as shipped (listener,
 * paths and logging swapped for the test's). The password file is written by
 * our code (broker-users.ts) in both cases, so Mosquitto also proves the
 * `$7$` format is its own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { isMailboxError, mailboxClientId, readUnverifiedMailbox } from '../../card-io/access-card/mailbox.js';
import { GATEWAY_BROKER_USER, generateBrokerPassword, removeBrokerUser, setBrokerUser } from '../../gateway/notify/broker-users.js';
import { startEmbeddedBroker } from '../../gateway/notify/embedded-broker.js';
import { needsBinary, type RegisterTest } from '../helpers/binaries.js';
import { delay } from '../helpers/link-probes.js';
import { shippedMosquittoConfig, startMosquitto } from '../helpers/mosquitto.js';

const ALICE = 'aaaaaaaaaaaaaaaa';
const BOB = 'bbbbbbbbbbbbbbbb';
const mailTopic = (id: string) => `homegate/terminals/${id}/mail`;

interface Household {
  url: string;
  password: Record<string, string>;
  file: string;
  /** Makes the broker read the password file again (Mosquitto: SIGHUP or restart; the embedded one reads it on each CONNECT). */
  reload(): Promise<void>;
}

type Start = (t: ExecutionContext, passwordFile: string) => Promise<{ url: string; reload(): Promise<void> }>;

const brokers: Array<[string, RegisterTest, Start]> = [
  [
    'embedded broker',
    test,
    async (t, passwordFile) => {
      const b = await startEmbeddedBroker({ port: 0, passwordFile });
      t.teardown(() => b.stop());
      return { url: b.url, reload: async () => undefined };
    },
  ],
  [
    'Mosquitto with the shipped config',
    needsBinary('mosquitto').test,
    async (t, passwordFile) => {
      const m = await startMosquitto({ config: (ctx) => shippedMosquittoConfig(ctx, passwordFile) });
      t.teardown(() => m.dispose());
      return { url: m.url, reload: async () => (await m.stop(), await m.start()) };
    },
  ],
];

async function household(t: ExecutionContext, start: Start): Promise<Household> {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-broker-users-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'homegate.passwd');
  const password: Record<string, string> = {};
  for (const username of [GATEWAY_BROKER_USER, ALICE, BOB]) {
    password[username] = generateBrokerPassword();
    await setBrokerUser(file, { username, password: password[username]! });
  }
  return { ...(await start(t, file)), password, file };
}

/** Connects once; rejects with the CONNACK refusal. */
async function connect(t: ExecutionContext, url: string, o: mqtt.IClientOptions): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...o });
  t.teardown(() => client.endAsync(true));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  client.on('error', () => undefined);
  return client;
}

const gateway = (t: ExecutionContext, h: Household) =>
  connect(t, h.url, { clientId: GATEWAY_BROKER_USER, username: GATEWAY_BROKER_USER, password: h.password[GATEWAY_BROKER_USER] });
const mailbox = (h: Household, id: string) => ({ url: h.url, terminalId: id, username: id, password: h.password[id], idleMs: 300 });

/** A publish that may be refused (aedes closes the connection, Mosquitto drops it silently): never throws. */
function tryPublish(client: MqttClient, topic: string, payload: string, retain: boolean): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1000);
    client.publish(topic, payload, { qos: 1, retain }, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

for (const [name, register, start] of brokers) {
  register(`${name}: When a client is anonymous, has a wrong password or is no user, it is refused`, async (t) => {
    const h = await household(t, start);
    const attempts = [
      { url: h.url, terminalId: ALICE },
      { ...mailbox(h, ALICE), password: h.password[BOB] },
      { ...mailbox(h, ALICE), username: 'mallory', password: 'mallory' },
    ];
    for (const attempt of attempts) {
      const e = await t.throwsAsync(readUnverifiedMailbox(attempt));
      t.true(isMailboxError(e, 'broker-refused'), e?.message);
    }
    const own = await readUnverifiedMailbox(mailbox(h, ALICE));
    t.deepEqual(own.messages, [], 'with its own login the terminal is admitted');
  });

  register(
    `${name}: When a terminal subscribes to another terminal's mail, directly or by wildcard, ` + `it receives none of it and the owner gets it`,
    async (t) => {
      const h = await household(t, start);
      await readUnverifiedMailbox(mailbox(h, ALICE)); // Alice's persistent session
      const bob = await connect(t, h.url, { clientId: mailboxClientId(BOB), username: BOB, password: h.password[BOB] });
      const snooped: string[] = [];
      bob.on('message', (topic) => snooped.push(topic));
      for (const filter of [mailTopic(ALICE), 'homegate/terminals/+/mail', '#']) await bob.subscribeAsync(filter, { qos: 1 }).catch(() => undefined);
      const gw = await gateway(t, h);
      await gw.publishAsync(mailTopic(ALICE), JSON.stringify({ id: 'for-alice', type: 'decision' }), { qos: 1 });
      await delay(300);
      t.deepEqual(snooped, []);
      t.deepEqual(
        (await readUnverifiedMailbox(mailbox(h, ALICE))).messages.map((m) => m.id),
        ['for-alice'],
      );
    },
  );

  register(`${name}: When another user connects with a terminal's client id, it cannot take over its session and drain the queued mail`, async (t) => {
    const h = await household(t, start);
    await readUnverifiedMailbox(mailbox(h, ALICE)); // Alice's persistent session, then offline
    const gw = await gateway(t, h);
    for (const id of ['m1', 'm2']) await gw.publishAsync(mailTopic(ALICE), JSON.stringify({ id, type: 'decision' }), { qos: 1 });
    await gw.endAsync();
    const drained: string[] = [];
    for (const username of [BOB, GATEWAY_BROKER_USER]) {
      // The embedded broker refuses the CONNECT; Mosquitto makes the client id the user name. Either way: nothing of Alice's.
      const thief = await connect(t, h.url, { clientId: mailboxClientId(ALICE), clean: false, username, password: h.password[username] }).catch(
        () => undefined,
      );
      if (thief === undefined) continue;
      thief.on('message', (_topic, payload) => drained.push(payload.toString()));
      await thief.subscribeAsync(mailTopic(ALICE), { qos: 1 }).catch(() => undefined);
      await delay(300);
      await thief.endAsync(true);
    }
    t.deepEqual(drained, []);
    const read = await readUnverifiedMailbox(mailbox(h, ALICE));
    t.true(read.sessionPresent, "Alice's session is still hers");
    t.deepEqual(
      read.messages.map((m) => m.id),
      ['m1', 'm2'],
    );
  });

  register(`${name}: When a terminal publishes the retained availability or status, or into a mail topic, nothing changes`, async (t) => {
    const h = await household(t, start);
    await readUnverifiedMailbox(mailbox(h, ALICE));
    const gw = await gateway(t, h);
    await gw.publishAsync('homegate/gateway/availability', 'online', { qos: 1, retain: true });
    await gw.publishAsync('homegate/gateway/status', '{"card":"present"}', { qos: 1, retain: true });
    const bob = await connect(t, h.url, { clientId: mailboxClientId(BOB), username: BOB, password: h.password[BOB] });
    await tryPublish(bob, 'homegate/gateway/availability', 'offline', true);
    await tryPublish(bob, 'homegate/gateway/status', '{"card":"absent"}', true);
    await tryPublish(bob, mailTopic(ALICE), JSON.stringify({ id: 'forged', type: 'decision' }), false);

    // The gateway's own view of its retained topics; a terminal may not read them at all (it reads only its mail).
    const reader = await connect(t, h.url, {
      clientId: `${GATEWAY_BROKER_USER}-reader`,
      username: GATEWAY_BROKER_USER,
      password: h.password[GATEWAY_BROKER_USER],
    });
    const retained = new Map<string, string>();
    reader.on('message', (topic, payload) => retained.set(topic, payload.toString()));
    await reader.subscribeAsync('homegate/gateway/#', { qos: 1 });
    const alice = await connect(t, h.url, { clientId: mailboxClientId(ALICE), username: ALICE, password: h.password[ALICE] });
    const seenByAlice: string[] = [];
    alice.on('message', (topic) => seenByAlice.push(topic));
    await alice.subscribeAsync('homegate/gateway/#', { qos: 1 }).catch(() => undefined);
    await delay(300);
    await alice.endAsync();
    await reader.endAsync();
    t.deepEqual(Object.fromEntries(retained), { 'homegate/gateway/availability': 'online', 'homegate/gateway/status': '{"card":"present"}' });
    t.deepEqual(seenByAlice, []);
    t.deepEqual((await readUnverifiedMailbox(mailbox(h, ALICE))).messages, []);
  });
}

for (const [name, register, start] of brokers) {
  register(`${name}: When a revoked terminal's user is removed, its login is refused and the others still work`, async (t) => {
    const h = await household(t, start);
    await readUnverifiedMailbox(mailbox(h, BOB));
    await removeBrokerUser(h.file, BOB);
    await h.reload();
    const e = await t.throwsAsync(readUnverifiedMailbox(mailbox(h, BOB)));
    t.true(isMailboxError(e, 'broker-refused'), e?.message);
    await t.notThrowsAsync(readUnverifiedMailbox(mailbox(h, ALICE)));
  });
}

test("embedded broker: When a terminal's user is removed while its client is connected, that client is disconnected and the others stay", async (t) => {
  const h = await household(t, brokers[0]![2]);
  const bob = await connect(t, h.url, { clientId: mailboxClientId(BOB), username: BOB, password: h.password[BOB], clean: false });
  const alice = await connect(t, h.url, { clientId: mailboxClientId(ALICE), username: ALICE, password: h.password[ALICE], clean: false });
  const bobGone = new Promise<void>((resolve) => bob.once('close', () => resolve()));
  await removeBrokerUser(h.file, BOB);
  await bobGone;
  t.true(alice.connected, 'another terminal keeps its connection');
});
