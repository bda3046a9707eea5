/**
 * The card socket with the emulator as its own process behind the virtual
 * backend: activation per ISO/IEC 7816-3 (reset, ATR, T=1 from the ATR),
 * debounced presence, a mute card, and a card pulled mid-command.
 */
import test from 'ava';
import { parseAtr } from '../../card-io/atr/atr.js';
import { homeCardAtr } from '../../card-io/emulator/card-atr.js';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { activateHomeCard } from '../../card-io/home-card/connect-socket.js';
import { bootVirtualSocket, nextPresence } from '../helpers/virtual-socket.js';

test('a card in the virtual socket answers reset with its ATR, and T=1 runs with the ATR parameters (IFSC 254)', async (t) => {
  const v = await bootVirtualSocket(t);
  t.true(v.socket.present);
  const active = await activateHomeCard({ socket: v.socket, baudRate: 115200 });
  t.teardown(() => active.close());
  t.deepEqual(active.activation.atr.bytes, homeCardAtr({ edc: 'lrc', bwtMs: 1500, baudRate: 115200 }));
  t.deepEqual(active.activation.atr.protocols, [1]);
  t.is(active.t1.ifsc, 254);
  t.is(active.t1.edc, 'lrc');
  t.true((active.t1.bwtMs ?? 0) >= 1500);
  // A TCP line cannot change speed: PPS is skipped, with the reason.
  t.is(active.activation.pps.outcome, 'skipped');
  t.regex(active.activation.pps.reason ?? '', /cannot change speed/);
  const info = await active.card.info();
  t.regex(info.cardId, /^[0-9a-f]{16}$/);
});

test('after the reset the reader announces IFSD 254, so an answer longer than 32 bytes comes back in one block, not chained', async (t) => {
  const v = await bootVirtualSocket(t);
  const active = await activateHomeCard({ socket: v.socket, baudRate: 115200 });
  t.teardown(() => active.close());
  t.is(active.t1.ifsd, 254);
  await active.card.authenticateAdmin(v.adminKey);
  const sent = active.ifd.stats.blocksSent;
  const publicKey = await active.card.generateKeyPair();
  // The answer (the public key, 65 bytes and more) arrives in one I-block: the reader acknowledged no chained piece.
  t.true(publicKey.export({ type: 'spki', format: 'der' }).length > 32);
  t.is(active.ifd.stats.blocksSent - sent, 1);
});

test("the emulator's ATR with --edc crc announces CRC, and the driver follows it without configuration", async (t) => {
  const v = await bootVirtualSocket(t, { args: ['--edc', 'crc'] });
  const active = await activateHomeCard({ socket: v.socket, baudRate: 115200 });
  t.teardown(() => active.close());
  t.is(parseAtr(active.activation.atr.bytes).t1.edc, 'crc');
  t.is(active.t1.edc, 'crc');
  t.regex((await active.card.info()).cardId, /^[0-9a-f]{16}$/);
});

test('a warm reset gives the ATR again and a fresh card session', async (t) => {
  const v = await bootVirtualSocket(t);
  const first = await activateHomeCard({ socket: v.socket, baudRate: 115200 });
  await first.card.info();
  first.close();
  const second = await activateHomeCard({ socket: v.socket, baudRate: 115200 }, 'warm');
  t.teardown(() => second.close());
  t.is(second.activation.kind, 'warm');
  t.deepEqual(second.activation.atr.bytes, first.activation.atr.bytes);
  t.regex((await second.card.info()).cardId, /^[0-9a-f]{16}$/);
});

test('ten detect edges within 5 ms make one insertion', async (t) => {
  const v = await bootVirtualSocket(t, { args: ['--removed'] });
  t.false(v.socket.present);
  const changes: boolean[] = [];
  v.socket.onPresence((c) => changes.push(c.present));
  const inserted = nextPresence(v.socket);
  await v.knobs.send({ kind: 'insert', bounce: 10 });
  t.true((await inserted).present);
  // Nothing more follows the burst.
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.deepEqual(changes, [true]);
});

test('a card that answers nothing after reset is reported mute (CardMute), not hung', async (t) => {
  const v = await bootVirtualSocket(t, { socket: { atrStartFloorMs: 200 } });
  await v.knobs.send({ kind: 'mute', on: true });
  // A round trip on the same connection: the card has taken the mute before the reset comes on the socket's own (a loaded host reordered them).
  await v.knobs.readDetect();
  const e = await t.throwsAsync(activateHomeCard({ socket: v.socket, baudRate: 115200 }));
  t.true(isCardError(e, CardErrorCode.CardMute), String(e));
});

test('an empty socket is not reset: activation fails at once with CardMute', async (t) => {
  const v = await bootVirtualSocket(t, { args: ['--removed'] });
  const e = await t.throwsAsync(activateHomeCard({ socket: v.socket, baudRate: 115200 }));
  t.true(isCardError(e, CardErrorCode.CardMute));
});

test('a card pulled during a command ends it at once with CardRemoved, outcome unknown, within 100 ms of the detect edge', async (t) => {
  const v = await bootVirtualSocket(t, { args: ['--slow-ms', '600'] });
  const active = await activateHomeCard({ socket: v.socket, baudRate: 115200 });
  t.teardown(() => active.close());
  v.socket.onPresence((c) => {
    if (!c.present) active.abort();
  });
  const removed = nextPresence(v.socket);
  const command = active.card.info().then(
    () => undefined,
    (e: unknown) => ({ e, at: Date.now() }),
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  await v.person.remove();
  const change = await removed;
  const failure = await command;
  t.truthy(failure);
  t.true(isCardError(failure!.e, CardErrorCode.CardRemoved), String(failure!.e));
  t.is((failure!.e as unknown as { context: { outcome?: string } }).context.outcome, 'unknown');
  t.true(failure!.at - change.edgeAt < 100, `${failure!.at - change.edgeAt} ms`);
  // Later commands fail at once: the interface device belongs to the pulled card.
  const later = await t.throwsAsync(active.card.info());
  t.true(isCardError(later, CardErrorCode.CardRemoved));
  t.is((later as unknown as { context: { outcome?: string } }).context.outcome, 'not-sent');
});
