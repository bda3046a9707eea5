/**
 * A card in specific mode (ISO/IEC 7816-3 §6.3.1, §8.3: TA2 present) takes
 * no PPS and, unless TA2's b5 says implicit values, runs at TA1's Fi/Di from
 * its ATR on: the line must follow at once. A scripted card on a line whose
 * speed the test sees (no emulator speaks specific mode; the wire is not the
 * point here, what the socket sends and sets is).
 */
import test from 'ava';
import { encodeAtr } from '../../card-io/atr/atr-encode.js';
import type { ByteLink, LinkStatus } from '../../card-io/link/link.js';
import { CardSocket } from '../../card-io/socket/card-socket.js';
import type { SocketSignals } from '../../card-io/socket/socket-signals.js';

/** A serial-like line whose card answers the reset with `atr`, and that records what is written and the speeds set. */
function scriptedCard(atr: Buffer): { link: ByteLink; signals: SocketSignals; written: Buffer[]; speeds: number[] } {
  const dataListeners = new Set<(chunk: Buffer) => void>();
  const written: Buffer[] = [];
  const speeds: number[] = [];
  let baudRate = 9600;
  const link: ByteLink = {
    status: 'connected' as LinkStatus,
    address: '/dev/ttyFAKE',
    get baudRate() {
      return baudRate;
    },
    async setBaudRate(b: number) {
      baudRate = b;
      speeds.push(b);
    },
    async write(bytes: Uint8Array) {
      written.push(Buffer.from(bytes));
    },
    onData: (l) => (dataListeners.add(l), () => dataListeners.delete(l)),
    onStatus: () => () => undefined,
    close: async () => undefined,
  };
  const signals: SocketSignals = {
    kind: 'gpio',
    switchesPower: true,
    readDetect: async () => true,
    onDetectEdge: () => () => undefined,
    setPower: async () => undefined,
    async setReset(asserted: boolean) {
      if (!asserted)
        setImmediate(() => {
          for (const l of dataListeners) l(atr);
        });
    },
    describe: () => ({}),
    close: async () => undefined,
  };
  return { link, signals, written, speeds };
}

// TA1 0x13: Fi 372, Di 4 (4 × the default speed); TD1 → group 2 with TA2 (T=1 specific mode), TD2 → T=1 group 3.
const specific = (ta2: number) => encodeAtr({ groups: [{ ta: 0x13, td: 1 }, { ta: ta2, td: 1 }, { ta: 0xfe }], historicalBytes: Buffer.from('HG') });

test('a card in specific mode is sent no PPS, and the line takes the Fi/Di of TA1 at once', async (t) => {
  const card = scriptedCard(specific(0x01));
  const socket = await CardSocket.open({ signals: card.signals, link: card.link, baudRate: 9600, atrStartFloorMs: 50, atrCharacterFloorMs: 50 });
  const a = await socket.activate();
  t.like(a.pps, { outcome: 'specific-mode' });
  t.deepEqual(card.written, [], 'no PPS request on the line');
  t.deepEqual(card.speeds, [38_400]);
  t.is(a.baudRate, 38_400);
});

test("a card in specific mode with implicit parameters (TA2's b5) keeps the line at its speed, and is sent no PPS either", async (t) => {
  const card = scriptedCard(specific(0x11));
  const socket = await CardSocket.open({ signals: card.signals, link: card.link, baudRate: 9600, atrStartFloorMs: 50, atrCharacterFloorMs: 50 });
  const a = await socket.activate();
  t.like(a.pps, { outcome: 'skipped' });
  t.regex(a.pps.reason ?? '', /implicit/);
  t.deepEqual(card.written, []);
  t.deepEqual(card.speeds, []);
  t.is(a.baudRate, 9600);
});

test('with PPS disabled in the configuration, a card in specific mode still gets its line at the Fi/Di of TA1', async (t) => {
  const card = scriptedCard(specific(0x01));
  const socket = await CardSocket.open({ signals: card.signals, link: card.link, baudRate: 9600, pps: false, atrStartFloorMs: 50, atrCharacterFloorMs: 50 });
  const a = await socket.activate();
  t.like(a.pps, { outcome: 'specific-mode' });
  t.deepEqual(card.speeds, [38_400]);
});
