/**
 * The dashboard over MQTT against both brokers (test/helpers/dashboard-rig.ts:
 * the embedded one and a real Mosquitto, each with deploy/mosquitto/acl as
 * shipped and the same users): discovery and its removal, state from the
 * event bus, coalescing, requests and who may send them, and what comes back
 * after the broker lost its retained messages. The same cases run on both.
 */
import type { ExecutionContext } from 'ava';
import { decommissionDashboard } from '../../gateway/dashboard/decommission.js';
import type { DashboardStateJson } from '../../gateway/dashboard/dashboard-state.js';
import { GATEWAY_BROKER_USER } from '../../gateway/notify/broker-users.js';
import {
  ALICE,
  BROKERS,
  connectAs,
  DASHBOARD_USER,
  makeLogins,
  record,
  startRig,
  type BrokerUnderTest,
  type Logins,
  type Recorder,
} from '../helpers/dashboard-rig.js';
import { delay } from '../helpers/link-probes.js';

const STATE = 'homegate/gateway/state';
const EVENTS = 'homegate/gateway/events';
const AVAILABILITY = 'homegate/gateway/availability';
const DISCOVERY = 'homeassistant/device/homegate-homegate/config';
const request = (command: string) => `homegate/gateway/request/${command}`;
const response = (command: string) => `homegate/gateway/response/${command}`;

interface Setup {
  broker: BrokerUnderTest;
  logins: Logins;
}

async function setup(t: ExecutionContext, start: (typeof BROKERS)[number][2]): Promise<Setup> {
  const logins = await makeLogins(t);
  return { logins, broker: await start(t, logins) };
}

/** The dashboard user's view: state, events, responses, availability and discovery. */
async function dashboardView(t: ExecutionContext, s: Setup): Promise<Recorder> {
  const client = await connectAs(t, s.broker.url, s.logins, DASHBOARD_USER);
  return record(client, [STATE, EVENTS, AVAILABILITY, 'homegate/gateway/response/#', 'homeassistant/#']);
}

function lastState(r: Recorder): DashboardStateJson | undefined {
  const s = r.last(STATE);
  return s ? (JSON.parse(s) as DashboardStateJson) : undefined;
}

for (const [name, register, start] of BROKERS) {
  register(`${name}: discovery is one retained device message whose entities have unique ids, the device block and the availability topic`, async (t) => {
    const s = await setup(t, start);
    await startRig(t, s.broker, s.logins);
    const view = await dashboardView(t, s);
    await view.until(() => view.last(DISCOVERY) !== undefined && view.last(AVAILABILITY) === 'online', 'discovery and online');
    const d = JSON.parse(view.last(DISCOVERY)!) as { dev: Record<string, unknown>; o: Record<string, unknown>; cmps: Record<string, Record<string, unknown>> };
    t.deepEqual(d.dev.ids, ['homegate-homegate']);
    t.like(d.dev, { mf: 'homegate', mdl: 'Home gateway', sw: '0.0.0-test' });
    t.is(d.o.name, 'homegate');
    const ids = Object.values(d.cmps).map((c) => c.unique_id);
    t.is(new Set(ids).size, ids.length, 'unique ids');
    t.deepEqual(Object.keys(d.cmps).sort(), [
      'card_present',
      'card_state',
      'connectivity',
      'identify',
      'last_payment',
      'lock_card',
      'outbox_depth',
      'pin1_tries',
      'pin2_tries',
    ]);
    for (const [key, c] of Object.entries(d.cmps)) {
      t.truthy(c.p, `${key} has its platform`);
      if (key === 'connectivity') t.is(c.state_topic, AVAILABILITY);
      else t.is(c.availability_topic, AVAILABILITY, `${key} is unavailable while the gateway is offline`);
    }
    t.is(d.cmps.lock_card!.command_topic, request('lock-card'));
    t.false('balance' in d.cmps, 'no balance sensor unless the household opted in');
    t.true(view.messages.find((m) => m.topic === DISCOVERY)!.retain);
  });

  register(`${name}: when Home Assistant announces itself online, discovery and state are published again`, async (t) => {
    const s = await setup(t, start);
    await startRig(t, s.broker, s.logins);
    const view = await dashboardView(t, s);
    await view.until(() => view.last(DISCOVERY) !== undefined && view.last(STATE) !== undefined, 'discovery and state');
    const count = (topic: string) => view.messages.filter((m) => m.topic === topic).length;
    const [discoveries, states] = [count(DISCOVERY), count(STATE)];
    await view.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await view.until(() => count(DISCOVERY) > discoveries && count(STATE) > states, 'republished after the birth message');
    t.pass();
  });

  register(`${name}: decommission clears discovery, state and availability, so nothing retained is left`, async (t) => {
    const s = await setup(t, start);
    const rig = await startRig(t, s.broker, s.logins);
    const first = await dashboardView(t, s);
    await first.until(() => first.last(DISCOVERY) !== undefined && first.last(STATE) !== undefined, 'discovery and state');
    await rig.stop();
    await decommissionDashboard({
      url: s.broker.url,
      clientId: GATEWAY_BROKER_USER,
      username: GATEWAY_BROKER_USER,
      password: s.logins.password[GATEWAY_BROKER_USER]!,
      topicPrefix: 'homegate',
      discoveryPrefix: 'homeassistant',
    });
    await first.until(() => first.last(DISCOVERY) === '', 'the empty discovery payload that removes the device');
    const later = await dashboardView(t, s);
    await delay(300);
    t.deepEqual(
      later.messages.filter((m) => m.retain),
      [],
      'a dashboard that connects afterwards finds nothing retained',
    );
  });

  register(`${name}: state follows the card, PIN tries and a decision; the balance only when opted in`, async (t) => {
    const s = await setup(t, start);
    const rig = await startRig(t, s.broker, s.logins, { stateIntervalMs: 50 });
    const view = await dashboardView(t, s);
    await view.until(() => lastState(view)?.card.state === 'absent', 'the first state');
    rig.events.emit('card-activated', { at: Date.now(), cardId: '0123456789abcdef' });
    await view.until(() => lastState(view)?.card.state === 'locked', 'card activated, no session: locked');
    t.is(lastState(view)!.card.id, '0123456789abcdef');
    rig.events.emit('pin-tries', { pin: 1, triesLeft: 2 });
    await view.until(() => lastState(view)?.card.pin1TriesLeft === 2, 'PIN1 tries after a wrong PIN');
    rig.events.emit('terminal-unlocked', { terminal: ALICE });
    await view.until(() => lastState(view)?.card.state === 'unlocked', 'unlocked');
    rig.events.emit('decision', { terminal: ALICE, market: 'sandbox', orderId: 'o-1', amount: 1250, currency: 'EUR', status: 'paid', at: 0, balance: 8750 });
    await view.until(() => lastState(view)?.lastDecision?.amount === 12.5, 'the last decision');
    t.like(lastState(view)!.lastDecision, { market: 'sandbox', currency: 'EUR', status: 'paid', time: '1970-01-01T00:00:00.000Z' });
    t.false('balance' in lastState(view)!, 'no balance without publishBalance');
    const event = view.messages.find((m) => m.topic === EVENTS && m.payload.includes('"decision"'));
    t.truthy(event);
    t.false(event!.retain, 'events are not retained');
    t.false(event!.payload.includes('balance'));
    rig.events.emit('card-removed', { at: Date.now(), reason: 'line-down' });
    await view.until(() => lastState(view)?.card.state === 'absent', 'card removed');
    t.is(lastState(view)!.card.id, null);
  });

  register(`${name}: with publishBalance the state carries the balance after a decision`, async (t) => {
    const s = await setup(t, start);
    const rig = await startRig(t, s.broker, s.logins, { publishBalance: true, stateIntervalMs: 50 });
    const view = await dashboardView(t, s);
    await view.until(() => view.last(DISCOVERY)?.includes('"balance"') === true, 'the balance sensor');
    rig.events.emit('decision', { terminal: ALICE, market: 'sandbox', orderId: 'o-1', amount: 1250, currency: 'EUR', status: 'paid', at: 0, balance: 8750 });
    await view.until(() => lastState(view)?.balance?.amount === 87.5, 'the balance');
    t.deepEqual(lastState(view)!.balance, { amount: 87.5, currency: 'EUR' });
  });

  register(`${name}: a flapping card line publishes a bounded number of state messages and ends in the right state`, async (t) => {
    const s = await setup(t, start);
    const rig = await startRig(t, s.broker, s.logins, { stateIntervalMs: 250 });
    const view = await dashboardView(t, s);
    await view.until(() => lastState(view) !== undefined, 'the first state');
    const before = rig.dashboard.statePublishes;
    const started = Date.now();
    for (let i = 0; i < 400; i++) {
      rig.events.emit(i % 2 === 0 ? 'card-activated' : 'card-removed', { at: Date.now(), cardId: '0123456789abcdef', reason: 'line-down' } as never);
      if (i % 20 === 0) await delay(25);
    }
    rig.events.emit('card-activated', { at: Date.now(), cardId: '0123456789abcdef' });
    const elapsed = Date.now() - started;
    await view.until(() => lastState(view)?.card.state === 'locked', 'the final state');
    await delay(300);
    const published = rig.dashboard.statePublishes - before;
    // Leading edge + one per 250 ms window (+1 for the last trailing edge).
    t.true(published <= Math.ceil(elapsed / 250) + 2, `${published} state messages for 401 changes in ${elapsed} ms`);
    t.true(published >= 1);
  });

  register(`${name}: lock-card from the dashboard user locks every session and answers ok with the transaction`, async (t) => {
    const s = await setup(t, start);
    const rig = await startRig(t, s.broker, s.logins);
    const view = await dashboardView(t, s);
    await view.until(() => view.last(AVAILABILITY) === 'online', 'online');
    await view.client.publishAsync(request('lock-card'), JSON.stringify({ transaction: 'tx-1' }), { qos: 1 });
    await view.until(() => view.last(response('lock-card')) !== undefined, 'the response');
    t.deepEqual(JSON.parse(view.last(response('lock-card'))!), { transaction: 'tx-1', status: 'ok', data: { locked: 1 } });
    t.is(rig.locks.length, 1);
  });

  register(`${name}: refresh and identify from the dashboard user answer ok; outbox/retry is not the dashboard's to send`, async (t) => {
    const s = await setup(t, start);
    const rig = await startRig(t, s.broker, s.logins);
    const identified: number[] = [];
    rig.events.on('identify', (e) => identified.push(e.seconds));
    const view = await dashboardView(t, s);
    await view.until(() => view.last(STATE) !== undefined, 'the first state');
    const states = view.messages.filter((m) => m.topic === STATE).length;
    await view.client.publishAsync(request('refresh'), '{"transaction":"r"}', { qos: 1 });
    await view.client.publishAsync(request('identify'), '', { qos: 1 });
    await view.until(() => view.last(response('refresh')) !== undefined && view.last(response('identify')) !== undefined, 'both responses');
    t.deepEqual(JSON.parse(view.last(response('refresh'))!), { transaction: 'r', status: 'ok', data: {} });
    t.deepEqual(JSON.parse(view.last(response('identify'))!), { status: 'ok', data: { seconds: 10 } });
    t.deepEqual(identified, [10], 'the panel was asked to blink');
    await view.until(() => view.messages.filter((m) => m.topic === STATE).length > states, 'refresh republished the state');
    view.client.publish(request('outbox/retry'), '{}', { qos: 0 });
    await delay(400);
    t.is(view.last(response('outbox/retry')), undefined, 'the broker kept it from the gateway');
  });

  register(`${name}: lock-card from a terminal user or an anonymous client is refused by the broker and nothing happens`, async (t) => {
    const s = await setup(t, start);
    const rig = await startRig(t, s.broker, s.logins);
    const view = await dashboardView(t, s);
    await view.until(() => view.last(AVAILABILITY) === 'online', 'online');
    await t.throwsAsync(connectAs(t, s.broker.url, s.logins, undefined), undefined, 'anonymous clients are refused');
    const alice = await connectAs(t, s.broker.url, s.logins, ALICE);
    // Mosquitto drops it silently; aedes closes the connection: either way no PUBACK is awaited here.
    alice.publish(request('lock-card'), JSON.stringify({ transaction: 'from-alice' }), { qos: 0 });
    await delay(500);
    t.deepEqual(rig.locks, []);
    t.is(view.last(response('lock-card')), undefined);
  });

  register(`${name}: an unknown command and a malformed body get error responses, and change nothing`, async (t) => {
    const s = await setup(t, start);
    const rig = await startRig(t, s.broker, s.logins);
    const view = await dashboardView(t, s);
    await view.until(() => view.last(AVAILABILITY) === 'online', 'online');
    // Only the gateway's user may write an unknown command there (the ACL); on Mosquitto a second
    // connection of that user would throw the gateway off (client id = user name), so the gateway sends it.
    await rig.notifier.mqtt!.publish(request('self-destruct'), JSON.stringify({ transaction: 7 }), false);
    await view.client.publishAsync(request('refresh'), 'not json', { qos: 1 });
    await view.until(() => view.last(response('self-destruct')) !== undefined && view.last(response('refresh')) !== undefined, 'two error responses');
    t.like(JSON.parse(view.last(response('self-destruct'))!), { transaction: 7, status: 'error', error: { code: 'unknown-command' } });
    t.like(JSON.parse(view.last(response('refresh'))!), { status: 'error', error: { code: 'malformed-request' } });
    t.deepEqual(rig.locks, []);
  });

  register(`${name}: a request left retained on the broker is not acted on when the gateway subscribes`, async (t) => {
    const s = await setup(t, start);
    const gw = await connectAs(t, s.broker.url, s.logins, GATEWAY_BROKER_USER);
    await gw.publishAsync(request('lock-card'), JSON.stringify({ transaction: 'stale' }), { qos: 1, retain: true });
    await gw.endAsync();
    const view = await dashboardView(t, s);
    const rig = await startRig(t, s.broker, s.logins);
    await view.until(() => view.last(STATE) !== undefined, 'the gateway is up');
    await delay(400);
    t.deepEqual(rig.locks, []);
    t.is(view.last(response('lock-card')), undefined, 'and not answered');
  });

  register(
    `${name}: after a broker restart that lost every retained message, availability, state and discovery come back and requests are heard again`,
    async (t) => {
      const s = await setup(t, start);
      const rig = await startRig(t, s.broker, s.logins);
      const first = await dashboardView(t, s);
      await first.until(() => first.last(DISCOVERY) !== undefined && first.last(STATE) !== undefined, 'discovery and state');
      rig.events.emit('card-activated', { at: Date.now(), cardId: '0123456789abcdef' });
      await first.until(() => lastState(first)?.card.state === 'locked', 'the state before the restart');
      await s.broker.restartWiped();
      await delay(200);
      const view = await dashboardView(t, s);
      await view.until(
        () => view.last(AVAILABILITY) === 'online' && view.last(DISCOVERY) !== undefined && lastState(view)?.card.state === 'locked',
        'availability, discovery and the same state again',
        10_000,
      );
      // The gateway subscribed again (its session is clean): a request after the restart is answered.
      await view.client.publishAsync(request('lock-card'), JSON.stringify({ transaction: 'after-restart' }), { qos: 1 });
      await view.until(() => view.last(response('lock-card')) !== undefined, 'the response after the restart');
      t.like(JSON.parse(view.last(response('lock-card'))!), { transaction: 'after-restart', status: 'ok' });
      t.is(rig.locks.length, 1);
    },
  );
}
