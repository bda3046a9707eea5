/**
 * The lead's wiring in gateway.ts, end to end: `card.socket.backend: "gpio"`
 * on a gateway whose panel is the virtual board. The socket's RST, VCC and
 * detect pins are pins of that board (panel.socketSignals); the card is the
 * emulator as its own process on a tcp:// card line. The virtual board's pins
 * stand for the wires: a test-side bridge carries what the gateway drives on
 * the RST and VCC pins to the emulator's contacts (its control channel), as
 * copper would, and the test moves the detect switch by setting the detect
 * pin's level, as the socket's switch would.
 */
import test from 'ava';
import type { Logger } from '../../card-io/base/log.js';
import { gatewayHealth, nextEvent } from '../helpers/household/gateway-watch.js';
import { VirtualSignals } from '../../card-io/socket/virtual-signals.js';
import { panelOptionsSchema } from '../../gateway/panel/panel-options.js';
import type { VirtualIo } from '../../gateway/panel/virtual-io.js';
import { DEMO_PINS, eventually, type Household, MARKET, startHousehold } from '../helpers/household/index.js';
import { findSecrets, pinNeedle, stringsOf, windows } from './secret-needles.js';

/** The README's Raspberry Pi wiring (BCM numbers). */
const PINS = { ready: 5, busy: 6, attention: 13, button: 17, buzzer: 18 };
const RST = 22;
const DETECT = 23;
const VCC = 24;

/** A household whose gateway has a virtual panel and its card in a gpio socket on that panel's board, wired to the emulator. */
async function gpioHousehold(t: Parameters<typeof startHousehold>[0], logger?: Logger): Promise<{ h: Household; io: VirtualIo; driven: string[] }> {
  const h = await startHousehold(t, {
    ...(logger ? { logger } : {}),
    socket: true,
    // Its link's log says when it serves the gateway's line (after the set-up's host left: its reconnection backoff).
    emulatorLogLevel: 'info',
    configure: (config) => {
      config.panel = panelOptionsSchema.parse({ plugin: 'virtual', pins: PINS });
      config.card.socket = {
        backend: 'gpio',
        rstPin: RST,
        detectPin: DETECT,
        vccPin: VCC,
        detectActiveLow: true,
        debounceMs: 20,
        atrTimeoutMs: 500,
        pps: true,
      };
    },
  });
  const io = h.gateway.panel!.board.virtual!;
  // The wires: RST and VCC pins to the card's contacts. The card's own detect switch stays "in"; the board's detect pin is the switch.
  const contacts = await VirtualSignals.connect({ control: h.socketControl! });
  t.teardown(() => contacts.close());
  const driven: string[] = [];
  const follow = (pin: number, value: 0 | 1) => {
    if (pin === RST) {
      driven.push(`rst ${value ? 'released' : 'asserted'}`);
      void contacts.setReset(value === 0).catch(() => undefined);
    }
    if (pin === VCC) {
      driven.push(`vcc ${value ? 'on' : 'off'}`);
      void contacts.setPower(value === 1).catch(() => undefined);
    }
  };
  follow(VCC, io.level(VCC));
  follow(RST, io.level(RST));
  io.on('output', ({ pin, value }: { pin: number; value: 0 | 1 }) => follow(pin, value));
  // The card on the tcp:// line answers only once the emulator serves the gateway's connection (the set-up's was first):
  // on a board the UART is simply there. An ATR sent before would be lost, and the card reported mute.
  await eventually(() => (h.emulator.stderr().match(/"link connected"/g) ?? []).length >= 2, "the emulator serves the gateway's line");
  return { h, io, driven };
}

test.serial(
  'a gpio socket on the virtual panel: the detect pin going low activates the card through the RST and VCC pins, going high reports it absent within 100 ms',
  async (t) => {
    const { h, io, driven } = await gpioHousehold(t);
    // The detect pin reads high (its pull-up, nothing in the socket): no card at start.
    t.is(h.gateway.cards.status, 'absent');
    t.like((await gatewayHealth(h)).socket, { backend: 'gpio', present: false, activated: false });
    t.is(io.level(PINS.ready), 0, 'ready LED off without a card');

    const inserted = nextEvent(h, 'card-inserted', 10_000);
    const activated = nextEvent(h, 'card-activated', 10_000);
    driven.length = 0;
    io.setInput(DETECT, 0);
    await inserted;
    const a = await activated;
    t.regex(a.atr ?? '', /^3B/);
    t.is(a.ifsc, 254, 'T=1 parameters taken from the ATR');
    t.is(h.gateway.cards.status, 'present');
    // ISO/IEC 7816-3 §6.2.2: RST held low while VCC comes up, then released; the card answered with its ATR.
    t.deepEqual(driven.slice(0, 2), ['vcc on', 'rst released'], driven.join(', '));
    t.like((await gatewayHealth(h)).socket, { backend: 'gpio', present: true, activated: true, state: 'ready', protocol: 'T=1', ifsc: 254 });
    await eventually(() => io.level(PINS.ready) === 1, 'the ready LED lights once the card is activated');

    // The card works through the pins' activation: PIN1, PIN2, SIGN, a resumed market session.
    const access = await h.accessCard();
    await access.unlock();
    t.true((await access.authorize(MARKET)).session.length > 0);

    const removed = nextEvent(h, 'card-removed', 10_000);
    const edgeAt = Date.now();
    io.setInput(DETECT, 1);
    const r = await removed;
    t.is(r.reason, 'pulled');
    t.true(r.seenAt - edgeAt < 100, `card-absent after ${r.seenAt - edgeAt} ms`);
    t.is(h.gateway.cards.status, 'absent');
    // §6.4: deactivated: RST low, then VCC off.
    await eventually(() => io.level(RST) === 0 && io.level(VCC) === 0, 'RST and VCC low after removal');
    await eventually(() => io.level(PINS.ready) === 0, 'the ready LED goes out');

    // In again: ready again, and the terminal enters PIN1 again (a new card session).
    const again = nextEvent(h, 'card-activated', 10_000);
    io.setInput(DETECT, 0);
    await again;
    t.false(await access.isUnlocked());

    // The gateway stopping deactivates the card (§6.4: RST low, then VCC off) while it still has the board to do it with.
    driven.length = 0;
    await h.gateway.stop();
    t.deepEqual(driven, ['rst asserted', 'vcc off']);
  },
);

test.serial('a bouncing detect pin (10 edges within 5 ms) on the gpio socket is one insertion', async (t) => {
  const { h, io } = await gpioHousehold(t);
  let insertions = 0;
  h.gateway.events.on('card-inserted', () => insertions++);
  const activated = nextEvent(h, 'card-activated', 10_000);
  for (let i = 0; i < 10; i++) {
    io.setInput(DETECT, i % 2 === 0 ? 0 : 1);
    await new Promise((resolve) => setImmediate(resolve));
  }
  io.setInput(DETECT, 0);
  await activated;
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.is(insertions, 1);
  t.is(h.gateway.cards.status, 'present');
});

test.serial(
  'nothing secret in the gateway log (at trace) or on the event bus while a card in the gpio socket is unlocked, used, pulled mid-command and inserted',
  async (t) => {
    const records: unknown[] = [];
    const keep = ((obj: unknown, msg?: string) => records.push({ obj, msg })) as Logger['info'];
    const logger: Logger = { trace: keep, debug: keep, info: keep, warn: keep, error: keep, isLevelEnabled: () => true, child: () => logger };
    const { h, io } = await gpioHousehold(t, logger);
    h.gateway.events.onAny((e) => records.push(e));
    const activated = nextEvent(h, 'card-activated', 10_000);
    io.setInput(DETECT, 0);
    await activated;
    const access = await h.accessCard();
    await access.unlock();
    const { session } = await access.authorize(MARKET);
    // Pulled while PIN2 travels to the card.
    const busy = nextEvent(h, 'card-busy', 10_000);
    const refused = access.authorize(MARKET).catch(() => undefined);
    await busy;
    // Back in only once the removal counted (a shorter gap is a bounce, and rightly no removal at all).
    const removed = nextEvent(h, 'card-removed', 10_000);
    io.setInput(DETECT, 1);
    await refused;
    await removed;
    const again = nextEvent(h, 'card-activated', 10_000);
    io.setInput(DETECT, 0);
    await again;
    const sessionDer = Buffer.from(session);
    const needles = [
      pinNeedle('PIN1', DEMO_PINS.pin1),
      pinNeedle('PIN2', DEMO_PINS.pin2),
      { what: 'the handed session', texts: [sessionDer.toString('base64').slice(0, 40), ...windows(sessionDer, 24)] },
    ];
    t.true(records.length > 50, `${records.length} log records and events`);
    t.deepEqual(findSecrets(stringsOf(records), needles), []);
  },
);
