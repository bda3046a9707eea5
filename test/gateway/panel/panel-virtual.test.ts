import test from 'ava';
import { silentLogger } from '../../../card-io/base/log.js';
import { ConfirmationError } from '../../../gateway/emoney/confirmation.js';
import { GatewayEvents, type GatewayEventMap } from '../../../gateway/events/gateway-events.js';
import { Panel } from '../../../gateway/panel/panel.js';
import { panelOptionsSchema } from '../../../gateway/panel/panel-options.js';

const PINS = { ready: 5, busy: 6, attention: 13, button: 17, buzzer: 18 };

async function startPanel(t: { teardown(f: () => Promise<void>): void }, confirm: Record<string, number> = {}) {
  const events = new GatewayEvents();
  const options = panelOptionsSchema.parse({ plugin: 'virtual', pins: PINS, beepMs: 20, confirm: { timeoutMs: 20_000, longPressMs: 1000, ...confirm } });
  const panel = await Panel.start({ options, events, logger: silentLogger });
  t.teardown(() => panel.close());
  const io = panel.board.virtual!;
  const leds: Array<GatewayEventMap['leds']> = [];
  events.on('leds', (l) => leds.push(l));
  return { events, panel, io, leds };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the ready LED lights when a card is activated and goes out when it is pulled', async (t) => {
  const { events, io, panel } = await startPanel(t);
  t.is(io.level(PINS.ready), 0);
  events.emit('card-activated', { at: 1, cardId: 'c1' });
  t.is(io.level(PINS.ready), 1);
  t.is(panel.status().leds.ready, 'on');
  events.emit('card-removed', { at: 2, reason: 'pulled' });
  t.is(io.level(PINS.ready), 0);
});

test('the attention LED lights for a blocked PIN, a refused card and an outbox backlog, and each change is a leds event', async (t) => {
  const { events, io, leds } = await startPanel(t);
  events.emit('card-activated', { at: 1, cardId: 'c1' });
  events.emit('pin-blocked', { pin: 2 });
  t.is(io.level(PINS.attention), 1);
  t.is(io.level(PINS.ready), 0, 'a card with a blocked PIN is not ready');
  events.emit('pin-tries', { pin: 2, triesLeft: 3 });
  t.is(io.level(PINS.attention), 0);
  events.emit('card-refused', { at: 2, reason: 'another household' });
  t.is(io.level(PINS.attention), 1);
  events.emit('card-removed', { at: 3, reason: 'pulled' });
  t.is(io.level(PINS.attention), 0);
  events.emit('outbox', { depth: 25 });
  t.is(io.level(PINS.attention), 1);
  events.emit('outbox', { depth: 0 });
  t.is(io.level(PINS.attention), 0);
  t.deepEqual(leds.at(-1), { ready: 'off', busy: 'off', attention: 'off' });
  t.true(leds.some((l) => l.attention === 'on' && l.ready === 'off'));
});

test('the busy LED blinks while the card works', async (t) => {
  const { events, io, panel } = await startPanel(t);
  const seen = new Set<number>();
  io.on('output', (o: { pin: number; value: number }) => (o.pin === PINS.busy ? seen.add(o.value) : undefined));
  events.emit('card-busy', { busy: true });
  t.is(panel.status().leds.busy, 'blink');
  await tick(1000);
  t.deepEqual([...seen].sort(), [0, 1], 'the busy LED went on and off');
  events.emit('card-busy', { busy: false });
  t.is(panel.status().leds.busy, 'off');
});

test('each payment decision sounds a short beep on the buzzer', async (t) => {
  const { events, io } = await startPanel(t);
  const buzz: number[] = [];
  io.on('output', (o: { pin: number; value: number }) => (o.pin === PINS.buzzer ? buzz.push(o.value) : undefined));
  events.emit('decision', { terminal: 't', market: 'm', orderId: 'o', amount: 1, currency: 'EUR', status: 'paid', at: 1 });
  t.is(io.level(PINS.buzzer), 1);
  await tick(60);
  t.is(io.level(PINS.buzzer), 0);
  t.deepEqual(buzz, [1, 0]);
});

test('a press confirms a payment above the threshold while the busy LED blinks fast and the status shows it pending', async (t) => {
  const { events, panel } = await startPanel(t, { payAbove: 1000 });
  const seen: Array<GatewayEventMap['confirmation']> = [];
  events.on('confirmation', (c) => seen.push(c));
  const waiting = panel.confirmation.awaitConfirmation({ kind: 'pay', amount: 1500, currency: 'EUR', terminal: 't1' });
  t.like(panel.status().pendingConfirmation, { kind: 'pay', amount: 1500, currency: 'EUR', terminal: 't1' });
  t.is(panel.status().leds.busy, 'blink-fast');
  await panel.press();
  await t.notThrowsAsync(waiting);
  t.is(panel.status().pendingConfirmation, null);
  t.deepEqual(
    seen.map((c) => [c.pending, c.outcome]),
    [
      [true, undefined],
      [false, 'confirmed'],
    ],
  );
});

test('no press within the timeout refuses with confirmation-timeout', async (t) => {
  const { panel } = await startPanel(t, { topupAbove: 500, timeoutMs: 400 });
  const e = await t.throwsAsync(panel.confirmation.awaitConfirmation({ kind: 'topup', amount: 501, terminal: 't1' }), { instanceOf: ConfirmationError });
  t.is(e?.code, 'confirmation-timeout');
});

test('a long press refuses at once with confirmation-refused', async (t) => {
  const { panel } = await startPanel(t, { payAbove: 0, timeoutMs: 30_000 });
  const waiting = panel.confirmation.awaitConfirmation({ kind: 'pay', amount: 1, currency: 'EUR', terminal: 't1' });
  const refused = t.throwsAsync(waiting, { instanceOf: ConfirmationError });
  await panel.longPress();
  t.is((await refused)?.code, 'confirmation-refused');
});

test('amounts at or below the threshold, and kinds without one, do not wait', async (t) => {
  const { panel } = await startPanel(t, { payAbove: 1000 });
  await panel.confirmation.awaitConfirmation({ kind: 'pay', amount: 1000, currency: 'EUR', terminal: 't1' });
  await panel.confirmation.awaitConfirmation({ kind: 'topup', amount: 1_000_000, terminal: 't1' });
  t.is(panel.status().pendingConfirmation, null);
});

test('a second request while one waits is refused with confirmation-busy, not queued', async (t) => {
  const { panel } = await startPanel(t, { payAbove: 0 });
  const first = panel.confirmation.awaitConfirmation({ kind: 'pay', amount: 5, currency: 'EUR', terminal: 't1' });
  const e = await t.throwsAsync(panel.confirmation.awaitConfirmation({ kind: 'pay', amount: 6, currency: 'EUR', terminal: 't2' }));
  t.is((e as ConfirmationError).code, 'confirmation-busy');
  await panel.press();
  await t.notThrowsAsync(first);
});

test('insert and remove without a virtual card socket answer a clear no-socket error', async (t) => {
  const { panel } = await startPanel(t);
  const e = await t.throwsAsync(panel.insert());
  t.is((e as { code?: string }).code, 'no-socket');
});

test('a reported problem lights the attention LED for problemHoldMs, then it goes out', async (t) => {
  const events = new GatewayEvents();
  const options = panelOptionsSchema.parse({ plugin: 'virtual', pins: PINS, problemHoldMs: 1000 });
  const panel = await Panel.start({ options, events, logger: silentLogger });
  t.teardown(() => panel.close());
  const io = panel.board.virtual!;
  events.emit('problem', { code: 'disk-full', message: 'the archive cannot be written' });
  t.is(io.level(PINS.attention), 1);
  await tick(1300);
  t.is(io.level(PINS.attention), 0);
});

test('closing the panel while the busy LED blinks turns every LED off', async (t) => {
  const { events, io, panel } = await startPanel(t);
  events.emit('card-activated', { at: 1, cardId: 'c1' });
  events.emit('card-busy', { busy: true });
  await panel.close();
  await tick(500);
  t.is(io.level(PINS.ready), 0);
  t.is(io.level(PINS.busy), 0);
});

test('a board error after start is reported as a problem and lights the attention LED instead of crashing', async (t) => {
  const { events, io, panel } = await startPanel(t);
  const problems: string[] = [];
  events.on('problem', (p) => problems.push(p.code));
  io.emit('error', new Error('gpiomon died'));
  t.deepEqual(problems, ['panel-io']);
  t.is(panel.status().leds.attention, 'on');
});

test('closing the panel while the button is held stops johnny-five from repeating hold', async (t) => {
  const { panel, io } = await startPanel(t);
  io.setInput(PINS.button, 0);
  let holds = 0;
  const button = panel.board.board as unknown as { register: Array<{ on(e: string, f: () => void): void; pin?: number }> };
  for (const c of button.register) if (c.pin === PINS.button) c.on('hold', () => holds++);
  await panel.close();
  const after = holds;
  await tick(2500);
  t.is(holds, after, 'no hold after close');
});

test("the dashboard's identify blinks the attention LED for the seconds it asks, then it shows the state again", async (t) => {
  const events = new GatewayEvents();
  const options = panelOptionsSchema.parse({ plugin: 'virtual', pins: PINS });
  const panel = await Panel.start({ options, events, logger: silentLogger });
  t.teardown(() => panel.close());
  const shown: GatewayEventMap['leds'][] = [];
  events.on('leds', (l) => shown.push(l));
  events.emit('identify', { seconds: 0.5 });
  t.is(shown.at(-1)?.attention, 'blink');
  t.is(panel.publicStatus().leds.attention, 'blink');
  await tick(800);
  t.is(shown.at(-1)?.attention, 'off');
  t.is(panel.board.virtual!.level(PINS.attention), 0);
});
