/**
 * The dashboard of a whole sandbox household (card emulator process, gateway,
 * market; the embedded broker, and a real Mosquitto with the shipped
 * configuration, both on deploy/mosquitto/acl) driven by the real flows:
 * the card line going down and up, a wrong and a right PIN1, a payment, and
 * `lock-card` from a dashboard user ending the terminal's card session. And
 * the gateway as its own process (`homegate gateway run`): SIGKILLed, its
 * Last Will says `offline`; started again, `online`.
 */
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../card-io/base/log.js';
import { reloadBroker } from '../../gateway/notify/broker-reload.js';
import { needsBinary } from '../helpers/binaries.js';
import { shippedMosquittoConfig, startMosquitto } from '../helpers/mosquitto.js';
import test, { type ExecutionContext } from 'ava';
import mqtt from 'mqtt';
import type { DashboardStateJson } from '../../gateway/dashboard/dashboard-state.js';
import { BROKER_USERS_FILE, generateBrokerPassword, setBrokerUser } from '../../gateway/notify/broker-users.js';
import { delay } from '../helpers/link-probes.js';
import { DASHBOARD_USER, record, tempDir, type Recorder } from '../helpers/dashboard-rig.js';
import { DEMO_PINS, SANDBOX_MARKET, serialWhen, startPurseHousehold, type PurseHousehold } from '../helpers/household/index.js';

const mosquitto = needsBinary('mosquitto');

const STATE = 'homegate/gateway/state';
const AVAILABILITY = 'homegate/gateway/availability';

/** A dashboard user added to the household's password file (the embedded broker reads it on every CONNECT). */
async function dashboard(t: ExecutionContext, h: PurseHousehold, existing?: string): Promise<Recorder> {
  const password = existing ?? generateBrokerPassword();
  if (existing === undefined) await setBrokerUser(join(h.dataDir, BROKER_USERS_FILE), { username: DASHBOARD_USER, password });
  const client = mqtt.connect(h.mqttUrl, { username: DASHBOARD_USER, password, clientId: 'dashboard-e2e', reconnectPeriod: 500 });
  t.teardown(() => client.endAsync(true));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return record(client, [STATE, AVAILABILITY, 'homegate/gateway/events', 'homegate/gateway/response/#']);
}

const state = (r: Recorder) => {
  const s = r.last(STATE);
  return s ? (JSON.parse(s) as DashboardStateJson) : undefined;
};

async function realFlows(t: ExecutionContext, h: PurseHousehold, view: Recorder): Promise<void> {
  await view.until(() => state(view)?.card.state === 'locked', 'the activated card, no session', 15_000);
  t.is(state(view)!.card.id, h.cardId);
  t.is(state(view)!.terminals.enrolled, 1);

  const wrong = await h.accessCard(async (which) => (which === 'PIN1' ? '0000' : DEMO_PINS.pin2));
  await t.throwsAsync(wrong.unlock());
  await view.until(() => state(view)?.card.pin1TriesLeft === 2, 'PIN1 tries after a wrong PIN1');

  await delay(1200); // the gateway slows a terminal down after a wrong PIN1 (PinThrottle, 1 s)
  const access = await h.accessCard();
  await access.unlock();
  await view.until(() => state(view)?.card.state === 'unlocked' && state(view)?.card.pin1TriesLeft === 3, 'unlocked, the counter full again');
  t.deepEqual(state(view)!.terminals.unlocked, [h.terminalId]);

  const order = await h.createOrder(access, 'mug');
  await access.pay(SANDBOX_MARKET, order.orderId);
  await view.until(() => state(view)?.lastDecision?.status === 'paid', 'the decision');
  t.like(state(view)!.lastDecision, { currency: order.currency, amount: order.amount / 100 });
  t.true(view.messages.some((m) => m.topic === 'homegate/gateway/events' && m.payload.includes('"event":"decision"')));

  await view.client.publishAsync('homegate/gateway/request/lock-card', JSON.stringify({ transaction: 'e2e' }), { qos: 1 });
  await view.until(() => view.last('homegate/gateway/response/lock-card') !== undefined, 'the lock-card response');
  t.like(JSON.parse(view.last('homegate/gateway/response/lock-card')!), { transaction: 'e2e', status: 'ok', data: { locked: 1 } });
  await view.until(() => state(view)?.card.state === 'locked', 'locked');
  t.false(h.inProcess!.sessions.isOpen(h.terminalId), "the terminal's card session is closed");

  await h.killCard();
  await view.until(() => state(view)?.card.state === 'absent', 'the card line down', 15_000);
  await h.restartCard();
  await view.until(() => state(view)?.card.state === 'locked', 'the card back', 20_000);
}

test.serial(
  'embedded broker: the state follows the card line, a wrong and a right PIN1, a payment, and lock-card from the dashboard ends the session',
  async (t) => {
    const h = await startPurseHousehold(t);
    await realFlows(t, h, await dashboard(t, h));
  },
);

/** A household on a real Mosquitto with the shipped configuration, the gateway's user file installed in it; the dashboard's view. */
async function onMosquitto(t: ExecutionContext, gatewayProcess: boolean): Promise<{ h: PurseHousehold; view: Recorder }> {
  const passwordFile = join(await tempDir(t, 'homegate-dashboard-e2e-'), 'homegate.passwd');
  await setBrokerUser(passwordFile, { username: 'placeholder', password: 'placeholder' }); // Mosquitto will not start without the file
  const broker = await startMosquitto({ config: (ctx) => shippedMosquittoConfig(ctx, passwordFile) });
  t.teardown(() => broker.dispose());
  const h = await startPurseHousehold(t, { mqttUrl: broker.url, gatewayProcess });
  const password = generateBrokerPassword();
  await setBrokerUser(join(h.dataDir, BROKER_USERS_FILE), { username: DASHBOARD_USER, password });
  // The installation step homegate.conf describes: the gateway's user file becomes Mosquitto's, then a reload.
  await copyFile(join(h.dataDir, BROKER_USERS_FILE), passwordFile);
  await reloadBroker(join(broker.dir, 'mosquitto.pid'), silentLogger);
  return { h, view: await dashboard(t, h, password) };
}

serialWhen(mosquitto)(
  'Mosquitto with the shipped config: the state follows the card line, a wrong and a right PIN1, a payment, and lock-card from the dashboard ends the session',
  async (t) => {
    const { h, view } = await onMosquitto(t, false);
    await realFlows(t, h, view);
  },
);

async function killedGateway(t: ExecutionContext, h: PurseHousehold, view: Recorder): Promise<void> {
  await view.until(() => view.last(AVAILABILITY) === 'online' && state(view) !== undefined, 'online with a state', 30_000);
  await h.process!.kill('SIGKILL');
  // The broker notices the dead TCP connection at once (the socket closes with the process).
  await view.until(() => view.last(AVAILABILITY) === 'offline', 'offline from the Last Will', 15_000);
  await h.process!.restart();
  await view.until(() => view.last(AVAILABILITY) === 'online', 'online again', 30_000);
  t.pass();
}

test.serial('embedded broker: a SIGKILLed gateway process is reported offline by its Last Will, and online again when it is back', async (t) => {
  const h = await startPurseHousehold(t, { gatewayProcess: true });
  await killedGateway(t, h, await dashboard(t, h));
});

serialWhen(mosquitto)(
  'Mosquitto with the shipped config: a SIGKILLed gateway process is reported offline by its Last Will, and online again when it is back',
  async (t) => {
    const { h, view } = await onMosquitto(t, true);
    await killedGateway(t, h, view);
  },
);
