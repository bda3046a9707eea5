/**
 * The dashboard against both brokers a household runs, with the same users:
 * the embedded broker (the sandbox's: password file + deploy/mosquitto/acl
 * as shipped) and a real Mosquitto with deploy/mosquitto/homegate.conf and
 * acl as shipped. The password file is written by broker-users.ts for both.
 *
 * A rig is the gateway's MQTT side as startGateway builds it (a notifier with
 * its durable outbox, the event bus, the dashboard); what the card would do
 * is the test's: it emits on the bus, and `lockCard` is recorded.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Dashboard } from '../../gateway/dashboard/dashboard.js';
import { GatewayEvents } from '../../gateway/events/gateway-events.js';
import { GATEWAY_BROKER_USER, generateBrokerPassword, setBrokerUser } from '../../gateway/notify/broker-users.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../gateway/notify/embedded-broker.js';
import { createNotifier, type Notifier } from '../../gateway/notify/notifier.js';
import { needsBinary, type RegisterTest } from './binaries.js';
import { shippedMosquittoConfig, startMosquitto } from './mosquitto.js';
import { silentLogger } from '../../card-io/base/log.js';

export const DASHBOARD_USER = 'homegate-dashboard';
export const ALICE = 'aaaaaaaaaaaaaaaa';
export const BOB = 'bbbbbbbbbbbbbbbb';
export const USERS = [GATEWAY_BROKER_USER, DASHBOARD_USER, ALICE, BOB] as const;

export interface BrokerUnderTest {
  readonly url: string;
  readonly port: number;
  /** Stops it, forgets every retained message and session, starts it again on the same port. */
  restartWiped(): Promise<void>;
}

export interface Logins {
  readonly passwordFile: string;
  readonly password: Record<string, string>;
}

export type StartBroker = (t: ExecutionContext, logins: Logins) => Promise<BrokerUnderTest>;

/** [name, register, start]: every case runs on each. */
export const BROKERS: Array<[string, RegisterTest, StartBroker]> = [
  [
    'embedded broker',
    test,
    async (t, logins) => {
      let broker: EmbeddedBroker = await startEmbeddedBroker({ port: 0, passwordFile: logins.passwordFile });
      const port = broker.port;
      t.teardown(() => broker.stop());
      return {
        url: broker.url,
        port,
        async restartWiped() {
          await broker.stop(); // in memory: retained messages go with it
          broker = await startEmbeddedBroker({ port, passwordFile: logins.passwordFile });
        },
      };
    },
  ],
  [
    'Mosquitto with the shipped config',
    needsBinary('mosquitto').test,
    async (t, logins) => {
      const m = await startMosquitto({ config: (ctx) => shippedMosquittoConfig(ctx, logins.passwordFile) });
      t.teardown(() => m.dispose());
      return {
        url: m.url,
        port: m.port,
        async restartWiped() {
          await m.stop();
          await rm(m.persistenceLocation, { recursive: true, force: true });
          const { mkdir } = await import('node:fs/promises');
          await mkdir(m.persistenceLocation);
          await m.start();
        },
      };
    },
  ],
];

export async function tempDir(t: ExecutionContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The four users in a fresh password file. */
export async function makeLogins(t: ExecutionContext): Promise<Logins> {
  const dir = await tempDir(t, 'homegate-dashboard-users-');
  const passwordFile = join(dir, 'homegate.passwd');
  const password: Record<string, string> = {};
  for (const username of USERS) {
    password[username] = generateBrokerPassword();
    await setBrokerUser(passwordFile, { username, password: password[username]! });
  }
  return { passwordFile, password };
}

export interface GatewayRig {
  readonly events: GatewayEvents;
  readonly notifier: Notifier;
  readonly dashboard: Dashboard;
  /** Calls of the dashboard's lock-card. */
  readonly locks: number[];
  stop(): Promise<void>;
}

export async function startRig(
  t: ExecutionContext,
  broker: BrokerUnderTest,
  logins: Logins,
  o: { publishBalance?: boolean; stateIntervalMs?: number } = {},
): Promise<GatewayRig> {
  const dataDir = await tempDir(t, 'homegate-dashboard-gw-');
  const events = new GatewayEvents();
  const notifier = await createNotifier({
    dataDir,
    events,
    mqtt: {
      url: broker.url,
      username: GATEWAY_BROKER_USER,
      password: logins.password[GATEWAY_BROKER_USER],
      reconnectPeriodMs: 100,
      reconnectMaxMs: 400,
      connectTimeoutMs: 2000,
    },
  });
  const locks: number[] = [];
  const dashboard = new Dashboard({
    link: notifier.mqtt!,
    events,
    logger: silentLogger,
    version: '0.0.0-test',
    publishBalance: o.publishBalance ?? false,
    stateIntervalMs: o.stateIntervalMs ?? 250,
    seed: { enrolled: 2 },
    lockCard: async () => {
      locks.push(Date.now());
      events.emit('terminal-locked', { terminal: ALICE, reason: 'lock-card' });
      return 1;
    },
    retryOutbox: () => notifier.outboxStats().depth,
  });
  dashboard.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    dashboard.stop();
    await notifier.stop();
  };
  t.teardown(stop);
  return { events, notifier, dashboard, locks, stop };
}

/** Connects once as `username`; rejects with the CONNACK refusal. */
export async function connectAs(t: ExecutionContext, url: string, logins: Logins, username: string | undefined, o: IClientOptions = {}): Promise<MqttClient> {
  const auth = username === undefined ? {} : { username, password: logins.password[username] };
  const clientId = username === undefined ? 'anonymous-probe' : /^[0-9a-f]{16}$/.test(username) ? `homegate-mail-${username}` : `${username}-probe`;
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, clientId, ...auth, ...o });
  t.teardown(() => client.endAsync(true));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  client.on('error', () => undefined);
  return client;
}

/** A subscriber that records every message (topic → payloads, with the retain flag). */
export interface Recorder {
  readonly client: MqttClient;
  readonly messages: Array<{ topic: string; payload: string; retain: boolean }>;
  /** The latest payload on `topic`. */
  last(topic: string): string | undefined;
  until(check: () => boolean, what: string, timeoutMs?: number): Promise<void>;
}

export async function record(client: MqttClient, filters: string[]): Promise<Recorder> {
  const messages: Recorder['messages'] = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload: payload.toString('utf8'), retain: packet.retain }));
  for (const f of filters) await client.subscribeAsync(f, { qos: 1 });
  return {
    client,
    messages,
    last: (topic) => messages.filter((m) => m.topic === topic).at(-1)?.payload,
    async until(check, what, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; got ${JSON.stringify(messages.map((m) => m.topic))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}
