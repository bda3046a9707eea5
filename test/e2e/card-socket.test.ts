/**
 * The gateway with its home card in a (virtual) socket, the emulator as its
 * own process: insertion and removal reported on the event bus and the
 * health endpoint, removal within 100 ms of the detect edge, unlocked
 * terminals entering PIN1 again after an insertion, a card pulled during
 * PIN2 / SIGN SESSION CERTIFICATE, and another household's card refused.
 */
import { gatewayHealth, nextEvent } from '../helpers/household/gateway-watch.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import type { Logger } from '../../card-io/base/log.js';
import { createCardImage } from '../../card-io/emulator/card-image.js';
import { VirtualSignals } from '../../card-io/socket/virtual-signals.js';
import type { Household } from '../helpers/household/index.js';
import { eventually, MARKET, refusalOf, startEmulatorProcess, startHousehold } from '../helpers/household/index.js';

/** A gateway logger that keeps the kinds of the resets the gateway gives a card that stopped answering. */
function resetLog(): { logger: Logger; resets: string[] } {
  const resets: string[] = [];
  const noop = () => undefined;
  const logger: Logger = {
    trace: noop,
    debug: noop,
    info: noop,
    error: noop,
    warn: ((obj: unknown, msg?: string) => {
      if (msg === 'the card does not answer; resetting it') resets.push(String((obj as { kind?: unknown }).kind));
    }) as Logger['warn'],
    isLevelEnabled: () => false,
    child: () => logger,
  };
  return { logger, resets };
}

async function knobs(t: { teardown(fn: () => unknown): void }, h: Household): Promise<VirtualSignals> {
  const k = await VirtualSignals.connect({ control: h.socketControl! });
  t.teardown(() => k.close());
  return k;
}

test.serial(
  'a card in the socket at start is activated from its ATR; removal is reported within 100 ms of the detect edge, insertion makes it ready again',
  async (t) => {
    const h = await startHousehold(t, { socket: true });
    t.is(h.gateway.cards.status, 'present');
    const before = await gatewayHealth(h);
    t.like(before.socket, { backend: 'virtual', present: true, activated: true, protocol: 'T=1', ifsc: 254, edc: 'lrc', pps: 'skipped' });
    const k = await knobs(t, h);
    const edges: number[] = [];
    k.onDetectEdge(() => edges.push(Date.now()));

    const removed = nextEvent(h, 'card-removed');
    await h.gateway.socketPerson!.remove();
    const r = await removed;
    t.is(r.reason, 'pulled');
    t.is(h.gateway.cards.status, 'absent');
    t.true(r.seenAt - edges[0]! < 100, `card-absent after ${r.seenAt - edges[0]!} ms`);
    t.like((await gatewayHealth(h)).socket, { present: false, activated: false });

    const activated = nextEvent(h, 'card-activated');
    await h.gateway.socketPerson!.insert();
    const a = await activated;
    t.is(a.ifsc, 254);
    t.regex(a.atr ?? '', /^3B/);
    t.is(h.gateway.cards.status, 'present');
    t.is(a.cardId, h.gateway.cards.cardId ?? '');
  },
);

test.serial('after a card is inserted again, an unlocked terminal must enter PIN1 again', async (t) => {
  const h = await startHousehold(t, { socket: true });
  const access = await h.accessCard();
  await access.unlock();
  t.true(await access.isUnlocked());
  const activated = nextEvent(h, 'card-activated');
  await h.gateway.socketPerson!.remove();
  await eventually(() => h.gateway.cards.status === 'absent', 'card absent');
  await h.gateway.socketPerson!.insert();
  await activated;
  t.false(await access.isUnlocked());
  await access.unlock();
  t.true((await access.authorize(MARKET)).session.length > 0);
});

test.serial(
  'a card pulled while the gateway works with it (PIN2, SIGN SESSION CERTIFICATE) ends the request at once as card-absent, and the card works after insertion',
  async (t) => {
    const h = await startHousehold(t, { socket: true, emulatorArgs: ['--slow-ms', '200'] });
    const access = await h.accessCard();
    await access.unlock();
    const busy = nextEvent(h, 'card-busy');
    const authorizing = refusalOf(access.authorize(MARKET));
    await busy;
    await new Promise((resolve) => setTimeout(resolve, 150));
    const started = Date.now();
    await h.gateway.socketPerson!.remove();
    const refusal = await authorizing;
    t.like(refusal, { status: 503, code: 'card-absent', cardErrorCode: 306 });
    // Pulled mid-command: the caller learns the command may have run (the card's log settles it), or never reached the card.
    t.true(refusal.outcome === 'unknown' || refusal.outcome === 'not-sent', String(refusal.outcome));
    t.true(Date.now() - started < 1000, 'the request ended at once, not after a timeout');
    t.is(h.relay.connections(), 0, 'no handshake with the market without a signature');
    const activated = nextEvent(h, 'card-activated', 10_000);
    await h.gateway.socketPerson!.insert();
    await activated;
    await access.unlock();
    t.true((await access.authorize(MARKET)).session.length > 0);
  },
);

test.serial("a card with another id than the household's is refused with a clear message and not used", async (t) => {
  const h = await startHousehold(t, { socket: true });
  const ours = h.gateway.cards.cardId!;
  // The household's card id as recorded at the first activation…
  t.is(h.gateway.registry.getSettings().householdCardId, ours);
  // …is another card's: the card now in the socket is a stranger.
  await h.gateway.registry.updateSettings({ householdCardId: '00112233445566ff' });
  await h.gateway.socketPerson!.remove();
  await eventually(() => h.gateway.cards.status === 'absent', 'card absent');
  const refused = nextEvent(h, 'card-refused');
  await h.gateway.socketPerson!.insert();
  const r = await refused;
  t.is(r.cardId, ours);
  t.regex(r.reason ?? '', /not this household's home card/);
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.is(h.gateway.cards.status, 'absent');
  t.like((await gatewayHealth(h)).socket, { present: true, state: 'refused', reason: 'foreign-card', activated: false });
  // The terminal is told which: the card in the socket is the wrong one (not "the card does not answer").
  const access = await h.accessCard();
  const refusal = await refusalOf(access.unlock());
  t.like(refusal, { status: 503, code: 'card-absent', reason: 'foreign-card', outcome: 'not-sent' });
  t.regex(String(refusal.message), /not this household's home card/);
});

test.serial('with card.householdCardId in gateway.json, another card is refused from the very first insertion and nothing is recorded', async (t) => {
  const h = await startHousehold(t, { socket: true, card: { householdCardId: '00112233445566ff' } });
  await eventually(
    async () => (await gatewayHealth(h)).socket !== undefined && ((await gatewayHealth(h)).socket as { state?: string }).state === 'refused',
    'the card refused',
  );
  t.is(h.gateway.cards.status, 'absent', 'our card is not the configured one: refused at its first activation');
  t.like((await gatewayHealth(h)).socket, { present: true, state: 'refused', reason: 'foreign-card', activated: false });
  t.is(h.gateway.registry.getSettings().householdCardId, undefined, 'trust on first use did not record it');
});

test.serial('a card that locks up is reset warm and works again; the command it hung on is reported card-absent', async (t) => {
  const log = resetLog();
  const h = await startHousehold(t, { socket: true, card: { bwtMs: 300 }, logger: log.logger });
  const access = await h.accessCard();
  await access.unlock();
  const k = await knobs(t, h);
  await k.send({ kind: 'hang' });
  const activated = nextEvent(h, 'card-activated', 15_000);
  t.like(await refusalOf(access.authorize(MARKET)), { status: 503, code: 'card-absent' });
  const a = await activated;
  t.is(a.cardId, h.gateway.cards.cardId ?? '');
  t.is(h.gateway.cards.status, 'present');
  t.deepEqual(log.resets, ['warm'], 'a warm reset was enough: no cold one');
  await access.unlock();
  t.true((await access.authorize(MARKET)).session.length > 0);
});

test.serial('a card that answers nothing, not even a warm or a cold reset, is reported absent as not answering', async (t) => {
  const log = resetLog();
  const h = await startHousehold(t, { socket: true, card: { bwtMs: 300 }, logger: log.logger });
  const access = await h.accessCard();
  await access.unlock();
  const k = await knobs(t, h);
  await k.send({ kind: 'mute', on: true });
  await k.readDetect(); // a round trip: the card took it before the reset on the other connection
  const removed = nextEvent(h, 'card-removed', 20_000);
  t.like(await refusalOf(access.authorize(MARKET)), { status: 503, code: 'card-absent' });
  t.is((await removed).reason, 'not-answering');
  t.deepEqual(log.resets, ['warm', 'cold'], 'warm, then cold, then absent');
  t.is(h.gateway.cards.status, 'absent');
  t.like((await gatewayHealth(h)).socket, { present: true, activated: false, state: 'mute', reason: 'card-mute' });
  t.like(await refusalOf(access.unlock()), { status: 503, code: 'card-absent', reason: 'card-mute' });
});

test.serial(
  "another household's card put in the socket (another emulator, another image) is refused and not touched; ours works again when it is back",
  async (t) => {
    const h = await startHousehold(t, { socket: true });
    const ours = h.gateway.cards.cardId!;
    const strangerImage = join(h.dataDir, 'stranger.img');
    const { cardId: strangerId } = await createCardImage(strangerImage);
    const before = await readFile(strangerImage);
    // Our card leaves (its emulator stops: the socket's control channel and the line go with it)…
    const removed = nextEvent(h, 'card-removed');
    await h.emulator.stop();
    await removed;
    // …and the stranger's card comes in on the same socket.
    const refused = nextEvent(h, 'card-refused', 15_000);
    const stranger = await startEmulatorProcess(h.cardDevice, strangerImage, 'error', { args: ['--control', h.socketControl!] });
    const r = await refused;
    t.is(r.cardId, strangerId.toString('hex'));
    t.not(r.cardId, ours);
    t.is(h.gateway.cards.status, 'absent');
    t.deepEqual(await readFile(strangerImage), before, "the stranger's card image was not written");
    // Ours back: ready again.
    const activated = nextEvent(h, 'card-activated', 15_000);
    await stranger.stop();
    await h.emulator.restart();
    t.is((await activated).cardId, ours);
  },
);
