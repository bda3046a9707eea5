/**
 * The `mqtt` section of `npm run bench`, through a real Mosquitto run with
 * the shipped configuration and ACL (test/helpers/mosquitto.ts):
 *
 * - `decisionToMail`: a decision notification handed to the notifier
 *   (`notify`: durable outbox append with fsync, then QoS 1 publish) until
 *   the terminal's subscriber has it; baseline: a bare QoS 1 publish from
 *   the gateway's user to the same subscriber, measured in the same run.
 * - `flappingState`: a card line toggling every ~1 ms for 3 s on the event
 *   bus; state messages per second at a dashboard subscriber (the
 *   coalescer's window is 250 ms) against the input events per second.
 * - `startup`: from spawning the gateway's MQTT side as a process
 *   (mqtt-bench-child.ts: notifier + dashboard, not the card line) until a
 *   subscriber sees the retained `online`; baseline: spawning `node` that
 *   exits at once.
 *
 * Without the mosquitto binary the section says so and is skipped.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { silentLogger } from '../../card-io/base/log.js';
import { Dashboard } from '../../gateway/dashboard/dashboard.js';
import { GatewayEvents } from '../../gateway/events/gateway-events.js';
import { GATEWAY_BROKER_USER, generateBrokerPassword, setBrokerUser } from '../../gateway/notify/broker-users.js';
import { createNotification } from '../../gateway/notify/notification.js';
import { createNotifier } from '../../gateway/notify/notifier.js';
import { shippedMosquittoConfig, startMosquitto } from '../helpers/mosquitto.js';
import { round, summarize } from './bench-stats.js';

const TERMINAL = 'aaaaaaaaaaaaaaaa';
const DASHBOARD = 'homegate-dashboard';
const MAIL = `homegate/terminals/${TERMINAL}/mail`;
const DECISIONS = 200;

function connect(url: string, username: string, password: string, clientId: string, clean = true): Promise<MqttClient> {
  const client = mqtt.connect(url, { username, password, clientId, clean, reconnectPeriod: 0 });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

/** Resolves with the time the next message on `topic` arrived (performance.now()). */
function nextMessage(client: MqttClient, topic: string, match: (payload: string) => boolean = () => true): Promise<number> {
  return new Promise((resolve) => {
    const on = (t: string, payload: Buffer) => {
      if (t !== topic || !match(payload.toString('utf8'))) return;
      client.off('message', on);
      resolve(performance.now());
    };
    client.on('message', on);
  });
}

export async function runMqttBench(): Promise<Record<string, unknown>> {
  // Not binaries.ts's needsBinary: that one registers ava tests, and a bench runs outside ava.
  if (spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error !== undefined) return { skipped: 'mosquitto is not installed (apt-get install -y mosquitto)' };
  const dir = await mkdtemp(join(tmpdir(), 'homegate-mqtt-bench-'));
  const passwordFile = join(dir, 'homegate.passwd');
  const password: Record<string, string> = {};
  for (const u of [GATEWAY_BROKER_USER, TERMINAL, DASHBOARD]) {
    password[u] = generateBrokerPassword();
    await setBrokerUser(passwordFile, { username: u, password: password[u]! });
  }
  const broker = await startMosquitto({ config: (ctx) => shippedMosquittoConfig(ctx, passwordFile) });
  try {
    return {
      broker: 'mosquitto, shipped homegate.conf and acl',
      decisionToMail: await decisionToMail(broker.url, dir, password),
      flappingState: await flappingState(broker.url, dir, password),
      startup: await startup(broker.url, dir, password),
    };
  } finally {
    await broker.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

async function decisionToMail(url: string, dir: string, password: Record<string, string>) {
  const terminal = await connect(url, TERMINAL, password[TERMINAL]!, `homegate-mail-${TERMINAL}`, false);
  await terminal.subscribeAsync(MAIL, { qos: 1 });
  const notifier = await createNotifier({
    dataDir: join(dir, 'gw-mail'),
    mqtt: { url, username: GATEWAY_BROKER_USER, password: password[GATEWAY_BROKER_USER] },
  });
  await new Promise<void>((resolve) => (notifier.mqtt!.isReady() ? resolve() : notifier.mqtt!.onReady(resolve)));
  const viaNotifier: number[] = [];
  const bare: number[] = [];
  for (let seq = 1; seq <= DECISIONS; seq++) {
    const id = `fedcba9876543210:decision:${seq}`;
    const arrived = nextMessage(terminal, MAIL, (p) => p.includes(id));
    const start = performance.now();
    const record = {
      seq,
      cardId: 'fedcba9876543210',
      market: 'shop.example',
      orderId: `o-${seq}`,
      amount: 100,
      currency: 'EUR',
      time: new Date().toISOString(),
      status: 'paid' as const,
    };
    await notifier.notify(createNotification({ type: 'decision', cardId: record.cardId, seq, terminalId: TERMINAL, mail: 'a@home.example', record }));
    viaNotifier.push((await arrived) - start);
  }
  await notifier.stop();
  const gw = await connect(url, GATEWAY_BROKER_USER, password[GATEWAY_BROKER_USER]!, GATEWAY_BROKER_USER);
  for (let i = 0; i < DECISIONS; i++) {
    const arrived = nextMessage(terminal, MAIL, (p) => p.includes(`"bare-${i}"`));
    const start = performance.now();
    await gw.publishAsync(MAIL, JSON.stringify({ id: `bare-${i}` }), { qos: 1 });
    bare.push((await arrived) - start);
  }
  await gw.endAsync();
  await terminal.endAsync();
  const n = summarize(viaNotifier);
  const b = summarize(bare);
  return { notifyToSubscriber: n, barePublishBaseline: b, medianRatio: round(n.medianMs / b.medianMs, 2) };
}

async function flappingState(url: string, dir: string, password: Record<string, string>) {
  const events = new GatewayEvents();
  const notifier = await createNotifier({
    dataDir: join(dir, 'gw-state'),
    events,
    mqtt: { url, username: GATEWAY_BROKER_USER, password: password[GATEWAY_BROKER_USER] },
  });
  const dashboard = new Dashboard({ link: notifier.mqtt!, events, logger: silentLogger, version: 'bench', lockCard: async () => 0, retryOutbox: () => 0 });
  dashboard.start();
  await new Promise<void>((resolve) => (notifier.mqtt!.isReady() ? resolve() : notifier.mqtt!.onReady(resolve)));
  const viewer = await connect(url, DASHBOARD, password[DASHBOARD]!, 'bench-dashboard');
  let received = 0;
  let eventMessages = 0;
  viewer.on('message', (t, _p, packet) => {
    if (t === 'homegate/gateway/state' && !packet.retain) received++;
    if (t === 'homegate/gateway/events') eventMessages++;
  });
  await viewer.subscribeAsync(['homegate/gateway/state', 'homegate/gateway/events'], { qos: 1 });
  const durationMs = 3000;
  const start = performance.now();
  let inputs = 0;
  while (performance.now() - start < durationMs) {
    events.emit(inputs % 2 === 0 ? 'card-removed' : 'card-activated', { at: Date.now(), cardId: '01', reason: 'line-down' } as never);
    inputs++;
    await new Promise((r) => setTimeout(r, 1));
  }
  const elapsedS = (performance.now() - start) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  dashboard.stop();
  await notifier.stop();
  await viewer.endAsync();
  return {
    inputEventsPerSecond: round(inputs / elapsedS, 1),
    stateMessagesPerSecond: round(received / elapsedS, 2),
    eventMessagesPerSecond: round(eventMessages / elapsedS, 2),
    windowMs: 250,
  };
}

async function startup(url: string, dir: string, password: Record<string, string>) {
  const child = fileURLToPath(new URL('./mqtt-bench-child.js', import.meta.url));
  const runs: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < 5; i++) {
    // Clear the retained availability so only this run's `online` counts.
    const gw = await connect(url, GATEWAY_BROKER_USER, password[GATEWAY_BROKER_USER]!, GATEWAY_BROKER_USER);
    await gw.publishAsync('homegate/gateway/availability', Buffer.alloc(0), { qos: 1, retain: true });
    await gw.endAsync();
    const viewer = await connect(url, DASHBOARD, password[DASHBOARD]!, 'bench-startup');
    await viewer.subscribeAsync('homegate/gateway/availability', { qos: 1 });
    const online = nextMessage(viewer, 'homegate/gateway/availability', (p) => p === 'online');
    const start = performance.now();
    const p = spawn(process.execPath, [child, url, join(dir, `gw-start-${i}`)], { stdio: ['pipe', 'ignore', 'inherit'] });
    p.stdin.end(`${password[GATEWAY_BROKER_USER]}\n`);
    runs.push((await online) - start);
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
    await viewer.endAsync();
    const b0 = performance.now();
    await new Promise((r) => spawn(process.execPath, ['-e', ''], { stdio: 'ignore' }).once('exit', r));
    baseline.push(performance.now() - b0);
  }
  const s = summarize(runs);
  const b = summarize(baseline);
  return { processStartToRetainedOnline: s, bareNodeStartBaseline: b, medianRatio: round(s.medianMs / b.medianMs, 2) };
}

if (process.argv[1]?.endsWith('mqtt-bench.js')) {
  process.stdout.write(`${JSON.stringify(await runMqttBench(), null, 2)}\n`);
}
