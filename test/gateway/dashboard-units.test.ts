/**
 * The dashboard's pure parts: the ACL rules both brokers share, the request
 * parser's answers, the state coalescer's bound, the reconnect backoff and
 * the state model's card enum.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { silentLogger } from '../../card-io/base/log.js';
import { MqttNotifier, type MqttLink } from '../../gateway/notify/mqtt-notifier.js';
import { parseGatewayConfig } from '../../gateway/config/gateway-config.js';
import test, { type ExecutionContext } from 'ava';
import { DashboardRequests, DUPLICATE_WINDOW_MS, type CommandHandlers } from '../../gateway/dashboard/dashboard-requests.js';
import { discoveryPayload } from '../../gateway/dashboard/ha-discovery.js';
import { Dashboard, REPUBLISH_INTERVAL_MS } from '../../gateway/dashboard/dashboard.js';
import { DashboardState } from '../../gateway/dashboard/dashboard-state.js';
import { EVENTS_PER_SECOND, EventLimiter } from '../../gateway/dashboard/dashboard-events.js';
import { StateCoalescer } from '../../gateway/dashboard/state-coalescer.js';
import { PinTriesAnnouncer } from '../../gateway/card/pin-tries-announcer.js';
import { GatewayEvents } from '../../gateway/events/gateway-events.js';
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import { aclAllows, filterWithin, parseBrokerAcl, topicMatches } from '../../gateway/notify/broker-acl.js';
import { SHIPPED_ACL_FILE } from '../../gateway/notify/embedded-broker.js';
import { reconnectDelay } from '../../gateway/notify/reconnect-backoff.js';
import { dashboardTopics } from '../../gateway/dashboard/dashboard-topics.js';
import { delay } from '../helpers/link-probes.js';

const acl = parseBrokerAcl(readFileSync(SHIPPED_ACL_FILE, 'utf8'));
const A = 'aaaaaaaaaaaaaaaa';

test('The shipped ACL: the gateway writes its tree, the dashboard sends three commands, a terminal reads only its own mail', (t) => {
  t.true(aclAllows(acl, 'homegate-gateway', 'homegate-gateway', 'write', 'homegate/gateway/state'));
  t.true(aclAllows(acl, 'homegate-gateway', 'homegate-gateway', 'subscribe', 'homegate/gateway/request/#'));
  for (const c of ['lock-card', 'refresh', 'identify']) t.true(aclAllows(acl, 'homegate-dashboard', 'ha', 'write', `homegate/gateway/request/${c}`), c);
  t.false(aclAllows(acl, 'homegate-dashboard', 'ha', 'write', 'homegate/gateway/request/outbox/retry'));
  t.false(aclAllows(acl, 'homegate-dashboard', 'ha', 'write', 'homegate/gateway/state'));
  t.true(aclAllows(acl, 'homegate-dashboard', 'ha', 'subscribe', 'homegate/gateway/state'));
  t.false(aclAllows(acl, 'homegate-dashboard', 'ha', 'subscribe', 'homegate/terminals/+/mail'));
  t.true(aclAllows(acl, A, `homegate-mail-${A}`, 'subscribe', `homegate/terminals/${A}/mail`));
  t.false(aclAllows(acl, A, `homegate-mail-${A}`, 'subscribe', 'homegate/terminals/+/mail'));
  t.false(aclAllows(acl, A, `homegate-mail-${A}`, 'read', 'homegate/terminals/bbbbbbbbbbbbbbbb/mail'));
  t.false(aclAllows(acl, A, `homegate-mail-${A}`, 'read', 'homegate/gateway/state'));
  t.false(aclAllows(acl, A, `homegate-mail-${A}`, 'write', 'homegate/gateway/request/lock-card'));
  t.false(aclAllows(acl, undefined, 'x', 'read', 'homegate/gateway/availability'), 'anonymous: nothing');
});

test('ACL parsing puts another topic prefix in place of homegate, and a deny line wins', (t) => {
  const other = parseBrokerAcl('user u\ntopic readwrite homegate/#\ntopic deny homegate/secret\n', 'house2');
  t.true(aclAllows(other, 'u', 'c', 'write', 'house2/x'));
  t.false(aclAllows(other, 'u', 'c', 'write', 'homegate/x'));
  t.false(aclAllows(other, 'u', 'c', 'read', 'house2/secret'));
});

test('Topic filters match as MQTT 3.1.1 §4.7 says, and a subscription lies within an ACL filter only when it is narrower', (t) => {
  t.true(topicMatches('a/+/c', 'a/b/c'));
  t.true(topicMatches('a/#', 'a'));
  t.false(topicMatches('#', '$SYS/x'));
  t.true(filterWithin('a/b/c', 'a/+/c'));
  t.false(filterWithin('a/+/c', 'a/b/c'));
  t.false(filterWithin('a/#', 'a/+'));
  t.true(filterWithin('a/b/#', 'a/#'));
});

const handlers = (calls: string[]): CommandHandlers => ({
  'lock-card': async () => (calls.push('lock-card'), { locked: 0 }),
  refresh: async () => (calls.push('refresh'), {}),
  identify: async () => (calls.push('identify'), { seconds: 10 }),
  'outbox/retry': async () => (calls.push('outbox/retry'), { depth: 0 }),
});

test('Requests: unknown command, malformed bodies, retained requests and a duplicate transaction each get their documented answer', async (t) => {
  const calls: string[] = [];
  const r = new DashboardRequests(handlers(calls));
  t.like(await r.handle('nope', Buffer.from('{"transaction":1}'), false), { transaction: 1, status: 'error', error: { code: 'unknown-command' } });
  for (const body of ['{', '[1]', '"x"', '{"transaction":{}}', 'x'.repeat(5000)]) {
    t.like(await r.handle('refresh', Buffer.from(body), false), { status: 'error', error: { code: 'malformed-request' } }, body.slice(0, 20));
  }
  t.is(await r.handle('lock-card', Buffer.from('{}'), true), undefined, 'retained: ignored');
  t.deepEqual(await r.handle('identify', Buffer.alloc(0), false), { status: 'ok', data: { seconds: 10 } }, 'an empty body is {}');
  const first = await r.handle('lock-card', Buffer.from('{"transaction":"t1"}'), false);
  const again = await r.handle('lock-card', Buffer.from('{"transaction":"t1"}'), false);
  t.deepEqual(again, first);
  t.deepEqual(calls, ['identify', 'lock-card'], 'nothing ran for errors, the retained request or the duplicate');
});

test('The coalescer publishes the first change at once and folds a burst into one trailing publish', async (t) => {
  let flushes = 0;
  const c = new StateCoalescer(100, () => flushes++);
  t.teardown(() => c.stop());
  c.request();
  t.is(flushes, 1, 'leading edge');
  for (let i = 0; i < 1000; i++) c.request();
  t.is(flushes, 1);
  await delay(250);
  t.is(flushes, 2, 'one trailing publish for the burst');
});

test('Reconnect delays grow to the cap and stay between half and all of it', (t) => {
  const b = { baseMs: 1000, maxMs: 30_000 };
  t.is(
    reconnectDelay(0, b, () => 0),
    500,
  );
  t.is(
    reconnectDelay(0, b, () => 1),
    1000,
  );
  t.is(
    reconnectDelay(3, b, () => 1),
    8000,
  );
  t.is(
    reconnectDelay(50, b, () => 1),
    30_000,
  );
  t.is(
    reconnectDelay(50, b, () => 0),
    15_000,
  );
});

test('The card state is absent, locked, unlocked or blocked as the events say', (t) => {
  const s = new DashboardState(() => 0);
  t.is(s.cardState(), 'absent');
  s.apply('card-inserted', { at: 0 });
  t.is(s.cardState(), 'present');
  s.apply('card-activated', { at: 0, cardId: '01' });
  t.is(s.cardState(), 'locked');
  s.apply('terminal-unlocked', { terminal: A });
  t.is(s.cardState(), 'unlocked');
  s.apply('pin-blocked', { pin: 1 });
  t.is(s.cardState(), 'blocked');
  t.false(s.apply('pin-blocked', { pin: 1 }), 'the same event again changes nothing');
  s.apply('card-refused', { at: 0, reason: 'other household' });
  t.is(s.cardState(), 'refused');
  s.apply('card-removed', { at: 0, reason: 'pulled' });
  t.is(s.cardState(), 'absent');
});

test('gateway.json takes the dashboard, TLS and reload options in its mqtt section and refuses a wrong one', (t) => {
  const mqtt = {
    url: 'mqtts://broker.lan:8883',
    username: 'homegate-gateway',
    passwordFile: 'mqtt/gateway.password',
    caFile: 'pki/household-ca.pem',
    certFile: 'mqtt/gateway.pem',
    keyFile: 'mqtt/gateway.key',
    publishBalance: true,
    discoveryPrefix: 'ha',
    stateIntervalMs: 500,
    reconnectMaxMs: 30_000,
    brokerReload: { pidFile: '/run/mosquitto/mosquitto.pid' },
  };
  const base = { card: { device: 'tcp://127.0.0.1:7816' } };
  t.like(parseGatewayConfig({ ...base, mqtt }, 'gateway.json').mqtt, { publishBalance: true, discoveryPrefix: 'ha', brokerReload: mqtt.brokerReload });
  t.throws(() => parseGatewayConfig({ ...base, mqtt: { ...mqtt, stateIntervalMs: -1 } }, 'gateway.json'));
  t.throws(() => parseGatewayConfig({ ...base, mqtt: { ...mqtt, discoveryPrefix: 'a/b' } }, 'gateway.json'));
});

test('gateway.json refuses a state interval under 100 ms, which would let a flapping input publish every change', (t) => {
  const base = { card: { device: 'tcp://127.0.0.1:7816' } };
  for (const stateIntervalMs of [0, 99]) {
    t.throws(
      () => parseGatewayConfig({ ...base, mqtt: { url: 'mqtt://127.0.0.1:1883', stateIntervalMs } }, 'gateway.json'),
      undefined,
      String(stateIntervalMs),
    );
  }
  t.is(parseGatewayConfig({ ...base, mqtt: { url: 'mqtt://127.0.0.1:1883', stateIntervalMs: 100 } }, 'gateway.json').mqtt?.stateIntervalMs, 100);
});

test('PIN tries: a wrong try is announced from its answer, and the counter is read back only after a wrong try was seen', async (t) => {
  const events = new GatewayEvents();
  const seen: string[] = [];
  events.onAny(({ name, payload }) => seen.push(`${name}:${JSON.stringify(payload)}`));
  let reads = 0;
  const card = { retryCounters: async () => (reads++, { pin1: { left: 3, max: 3 }, pin2: { left: 3, max: 3 } }) } as unknown as HomeCard;
  const tries = new PinTriesAnnouncer(events);
  await tries.right(card, 'PIN1');
  t.is(reads, 0, 'a right try with no wrong one before costs no card command');
  tries.wrong('PIN2', 0);
  await tries.afterAdmin(card); // e.g. homegate card unblock 2
  await tries.right(card, 'PIN2');
  t.is(reads, 1);
  t.deepEqual(seen, ['pin-tries:{"pin":2,"triesLeft":0}', 'pin-blocked:{"pin":2}', 'pin-tries:{"pin":2,"triesLeft":3}']);
});

test('While the broker refuses every connection, reconnect attempts back off instead of coming every base period', async (t) => {
  let attempts = 0;
  const server = net.createServer((socket) => {
    attempts++;
    socket.destroy(); // a broker that is there and drops everyone
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as net.AddressInfo;
  const notifier = new MqttNotifier({ url: `mqtt://127.0.0.1:${port}`, reconnectPeriodMs: 100, reconnectMaxMs: 800, connectTimeoutMs: 1000 }, silentLogger);
  notifier.start();
  t.teardown(() => notifier.stop(0));
  await delay(3000);
  // A fixed 100 ms period would make ~30 attempts; doubling to 800 ms (each drawn in [half, all]) makes well under 15.
  t.true(attempts >= 3 && attempts <= 15, `${attempts} attempts in 3 s`);
});

test('A burst of card events is bounded per second on the events topic; payments are never dropped', (t) => {
  let now = 0;
  const limiter = new EventLimiter(() => now);
  let passed = 0;
  for (let i = 0; i < 1000; i++) if (limiter.allow('card-removed')) passed++;
  t.is(passed, EVENTS_PER_SECOND);
  for (let i = 0; i < 100; i++) t.true(limiter.allow('decision'));
  now = 1000;
  t.true(limiter.allow('card-removed'), 'a new second, a new allowance');
  t.is(limiter.dropped, 1000 - EVENTS_PER_SECOND);
});

test("Another gateway id moves the gateway's own topics to <prefix>/<id>/, and the embedded broker's ACL follows it; mail stays under <prefix>/terminals/", (t) => {
  const topics = dashboardTopics('home/kitchen', 'homeassistant');
  t.is(topics.state, 'home/kitchen/state');
  t.is(topics.request('lock-card'), 'home/kitchen/request/lock-card');
  t.is(topics.commandOf('home/kitchen/request/outbox/retry'), 'outbox/retry');
  t.is(topics.commandOf('home/gateway/request/lock-card'), undefined);
  const acl = parseBrokerAcl(readFileSync(SHIPPED_ACL_FILE, 'utf8'), 'home', 'kitchen');
  t.true(aclAllows(acl, 'homegate-dashboard', 'homegate-dashboard', 'write', 'home/kitchen/request/lock-card'));
  t.false(aclAllows(acl, 'homegate-dashboard', 'homegate-dashboard', 'write', 'home/gateway/request/lock-card'));
  t.true(aclAllows(acl, 'homegate-dashboard', 'homegate-dashboard', 'read', 'home/kitchen/state'));
  t.true(aclAllows(acl, 't1', 't1', 'read', 'home/terminals/t1/mail'));
  const config = parseGatewayConfig({ card: { device: 'tcp://127.0.0.1:1' }, mqtt: { url: 'mqtt://127.0.0.1:1883', gatewayId: 'kitchen' } });
  t.is(config.mqtt?.gatewayId, 'kitchen');
  t.is(parseGatewayConfig({ card: { device: 'tcp://127.0.0.1:1' }, mqtt: { url: 'mqtt://127.0.0.1:1883' } }).mqtt?.gatewayId, 'gateway');
  t.throws(() => parseGatewayConfig({ card: { device: 'x' }, mqtt: { url: 'mqtt://127.0.0.1:1883', gatewayId: 'a/b' } }));
});

test('A request repeated with its transaction while the first still runs waits for that answer and runs nothing again', async (t) => {
  let runs = 0;
  let release: () => void = () => undefined;
  const slow: CommandHandlers = {
    ...handlers([]),
    'lock-card': async () => {
      runs += 1;
      await new Promise<void>((r) => {
        release = r;
      });
      return { locked: runs };
    },
  };
  const r = new DashboardRequests(slow);
  const first = r.handle('lock-card', Buffer.from('{"transaction":"dup"}'), false);
  const second = r.handle('lock-card', Buffer.from('{"transaction":"dup"}'), false);
  await delay(10);
  release();
  t.deepEqual(await second, await first);
  t.is(runs, 1);
});

test('The same transaction after the duplicate window is a new request: a button that always sends the same body acts at every press', async (t) => {
  const calls: string[] = [];
  let now = 1_000_000;
  const r = new DashboardRequests(handlers(calls), () => now);
  await r.handle('identify', Buffer.from('{"transaction":"button"}'), false);
  await r.handle('identify', Buffer.from('{"transaction":"button"}'), false);
  now += DUPLICATE_WINDOW_MS + 1;
  await r.handle('identify', Buffer.from('{"transaction":"button"}'), false);
  t.deepEqual(calls, ['identify', 'identify'], 'the duplicate inside the window ran nothing, the later press ran');
});

test("Home Assistant's buttons send no transaction, so pressing Lock card twice locks twice", async (t) => {
  const calls: string[] = [];
  const r = new DashboardRequests(handlers(calls));
  const d = discoveryPayload({ topics: dashboardTopics('homegate/gateway', 'homeassistant'), version: '1', publishBalance: false, currency: 'EUR' });
  for (const key of ['lock_card', 'identify']) {
    const press = Buffer.from(String(d.cmps[key]!.payload_press));
    const command = key === 'lock_card' ? 'lock-card' : 'identify';
    t.is((await r.handle(command, press, false))?.status, 'ok');
    t.is((await r.handle(command, press, false))?.status, 'ok');
  }
  t.deepEqual(calls, ['lock-card', 'lock-card', 'identify', 'identify']);
});

/** A link that is always connected and records what is published; `deliver` plays the broker. */
function fakeLink(): { link: MqttLink; published: Array<{ topic: string; payload: string }>; deliver(topic: string, payload: string): void } {
  const published: Array<{ topic: string; payload: string }> = [];
  const listeners: Array<(topic: string, payload: Buffer, retained: boolean) => void> = [];
  const link: MqttLink = {
    topicPrefix: 'homegate',
    gatewayBase: 'homegate/gateway',
    availabilityTopic: 'homegate/gateway/availability',
    isReady: () => true,
    onReady: () => () => undefined,
    publish: async (topic, payload) => {
      published.push({ topic, payload: payload.toString() });
    },
    subscribe: () => undefined,
    onMessage: (l) => {
      listeners.push(l);
      return () => undefined;
    },
  };
  const deliver = (topic: string, payload: string) => {
    for (const l of listeners) l(topic, Buffer.from(payload), false);
  };
  return { link, published, deliver };
}

function fakeDashboard(t: ExecutionContext, link: MqttLink, events = new GatewayEvents(), publishBalance = false): Dashboard {
  const dashboard = new Dashboard({ link, events, logger: silentLogger, version: '1', publishBalance, lockCard: async () => 0, retryOutbox: () => 0 });
  dashboard.start();
  t.teardown(() => dashboard.stop());
  return dashboard;
}

test('A burst of refresh requests and Home Assistant birth messages republishes discovery once at once and once after the window, not per request', async (t) => {
  const { link, published, deliver } = fakeLink();
  const dashboard = fakeDashboard(t, link);
  t.is(dashboard.discoveryPublishes, 1, 'at start');
  await delay(REPUBLISH_INTERVAL_MS + 100); // the start's window is over
  for (let i = 0; i < 50; i++) {
    deliver('homegate/gateway/request/refresh', `{"transaction":${i}}`);
    deliver('homeassistant/status', 'online');
  }
  await delay(50);
  t.is(dashboard.discoveryPublishes, 2, 'the first of the burst at once');
  await delay(REPUBLISH_INTERVAL_MS + 100);
  t.is(dashboard.discoveryPublishes, 3, 'the rest folded into one at the end of the window');
  t.is(published.filter((p) => p.topic === 'homegate/gateway/response/refresh').length, 50, 'every request still answered');
});

test("The monetary sensors carry the purse's currency: the card's purse read at activation, or a payment in it, republishes discovery in it", async (t) => {
  const { link, published } = fakeLink();
  const events = new GatewayEvents();
  const dashboard = fakeDashboard(t, link, events, true);
  const units = () =>
    published
      .filter((p) => p.topic === 'homeassistant/device/homegate-homegate_gateway/config')
      .map((p) => (JSON.parse(p.payload) as { cmps: Record<string, { unit_of_measurement?: string }> }).cmps.last_payment!.unit_of_measurement);
  t.deepEqual(units(), ['EUR'], 'before anything is known');
  dashboard.cardPurse(12_345, 'CHF');
  await delay(REPUBLISH_INTERVAL_MS + 100);
  t.deepEqual(units(), ['EUR', 'CHF']);
  t.deepEqual(dashboard.state.toJson(true).balance, { amount: 123.45, currency: 'CHF' }, 'the balance as the card says, before any payment');
  events.emit('decision', { terminal: 'a', market: 'm', orderId: 'o', amount: 500, currency: 'JPY', status: 'paid', at: 0 });
  await delay(REPUBLISH_INTERVAL_MS + 100);
  t.deepEqual(units(), ['EUR', 'CHF', 'JPY']);
  events.emit('decision', { terminal: 'a', market: 'm', orderId: 'p', amount: 500, currency: 'JPY', status: 'paid', at: 0 });
  await delay(50);
  t.is(units().length, 3, 'the same currency again: no new discovery');
});
