import { silentLogger } from '../../../card-io/base/log.js';
import { ConfirmationError } from '../../../gateway/emoney/confirmation.js';
import { GatewayEvents } from '../../../gateway/events/gateway-events.js';
import { createGpioSocketSignals, type IoBoard } from '../../../gateway/panel/gpio-socket-signals.js';
import { Panel } from '../../../gateway/panel/panel.js';
import { panelOptionsSchema } from '../../../gateway/panel/panel-options.js';
import { needsBinary } from '../../helpers/binaries.js';
import { startFirmataPeer } from '../../helpers/firmata-peer.js';
import { startPtyPair } from '../../helpers/pty.js';

const socat = needsBinary('socat');
const PINS = { ready: 4, busy: 5, attention: 6, button: 7, buzzer: 8 };

async function until(what: string, check: () => boolean, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

socat.test('an Arduino speaking Firmata on a serial line becomes the panel: LEDs, the confirm button and the card socket pins', async (t) => {
  const pty = await startPtyPair(t);
  const peer = await startFirmataPeer(pty.cardPath);
  t.teardown(() => peer.close());
  const events = new GatewayEvents();
  const options = panelOptionsSchema.parse({
    plugin: 'firmata',
    device: pty.hostPath,
    pins: PINS,
    confirm: { payAbove: 0, timeoutMs: 20_000, longPressMs: 2000 },
  });
  const panel = await Panel.start({ options, events, logger: silentLogger });
  t.teardown(() => panel.close());

  events.emit('card-activated', { at: 1, cardId: 'c1' });
  await until('ready LED on', () => peer.output(PINS.ready) === 1);
  events.emit('outbox', { depth: 100 });
  await until('attention LED on', () => peer.output(PINS.attention) === 1);

  // The button's pull-up was asked of the board; a press pulls the pin low.
  await until('button watched', () => peer.modes.get(PINS.button) !== undefined);
  const waiting = panel.confirmation.awaitConfirmation({ kind: 'pay', amount: 10, currency: 'EUR', terminal: 't1' });
  peer.setInput(PINS.button, 0);
  await new Promise((r) => setTimeout(r, 100));
  peer.setInput(PINS.button, 1);
  await t.notThrowsAsync(waiting);

  const refused = panel.confirmation.awaitConfirmation({ kind: 'pay', amount: 10, currency: 'EUR', terminal: 't1' });
  peer.setInput(PINS.button, 0);
  const e = await t.throwsAsync(refused, { instanceOf: ConfirmationError });
  t.is(e?.code, 'confirmation-refused');
  peer.setInput(PINS.button, 1);

  // The gpio card socket on the same board.
  const signals = createGpioSocketSignals(panel.board.board as typeof panel.board.board & IoBoard, { rstPin: 10, detectPin: 11, detectActiveLow: true });
  t.teardown(() => signals.close());
  t.false(await signals.readDetect());
  const edges: boolean[] = [];
  signals.onDetectEdge((p) => edges.push(p));
  peer.setInput(11, 0);
  await until('insertion edge', () => edges.length === 1);
  t.deepEqual(edges, [true]);
  await signals.setReset(false);
  await until('RST released high', () => peer.output(10) === 1);
});
