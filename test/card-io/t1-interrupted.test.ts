/**
 * A line that drops in the middle of a chained command and comes back to a
 * card that was powered again: the rest of the chain must never reach the new
 * card session, where it would run as a command of its own (ISO/IEC 7816-3
 * §11.6: after S(RESYNCH) the sequence numbers restart and an interrupted
 * chain is abandoned).
 */
import test from 'ava';
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import { createT1Pair, type T1Pair } from '../helpers/t1-pair.js';

const apdu = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));
const PCB_R = 0x80;

/** After the card acknowledged `acks` chained blocks, the wire drops, the card is powered again, and the wire comes back. */
function dropAfterAcks(p: T1Pair, acks: number, freshCard = true): void {
  let seen = 0;
  p.setFault((chunk, dir) => {
    const isR = chunk.length >= 2 && (chunk[1]! & 0xc0) === PCB_R;
    if (dir !== 'b-to-a' || !isR || ++seen !== acks) return [chunk];
    setImmediate(() => {
      p.line.disconnect();
      if (freshCard) p.card.resetProtocol();
      p.setFault(undefined);
      setImmediate(() => p.line.reconnect());
    });
    return [];
  });
}

for (const freshCard of [true, false]) {
  const card = freshCard ? 'a freshly powered card' : 'the same card';
  test(`When the line drops mid-chain and comes back to ${card}, the command fails as interrupted and its tail never runs`, async (t) => {
    const p = createT1Pair();
    await p.ifd.start();
    const cmd = apdu(300);
    dropAfterAcks(p, 3, freshCard);
    const err = await t.throwsAsync(p.ifd.transmit(cmd), { instanceOf: CardError });
    t.is(err?.code, CardErrorCode.ExchangeInterrupted);
    while (p.line.a.status !== 'connected') await new Promise((r) => setImmediate(r));
    // The next command starts afresh and is the only thing the card ever ran.
    const next = apdu(100, 9);
    t.deepEqual(await p.ifd.transmit(next), p.processor.expected(next));
    t.deepEqual(p.processor.executed, [next]);
    await p.close();
  });
}

test('When the line drops while the card works on a command, the exchange is interrupted at once, not after the block waiting time', async (t) => {
  const p = createT1Pair({ ifd: { bwtMs: 60_000, maxTransmitMs: 120_000 } });
  await p.ifd.start();
  p.processor.delayMs = 200;
  const pending = p.ifd.transmit(apdu(10));
  setTimeout(() => p.line.disconnect(), 50);
  const err = await t.throwsAsync(pending, { instanceOf: CardError });
  t.is(err?.code, CardErrorCode.ExchangeInterrupted);
  p.line.reconnect();
  await p.close();
});

test('When the line drops between two commands, the next command resynchronizes first and runs once', async (t) => {
  const p = createT1Pair();
  await p.ifd.transmit(apdu(40));
  p.line.disconnect();
  p.card.resetProtocol();
  p.line.reconnect();
  const before = p.ifd.stats.resynchs;
  const cmd = apdu(70, 5);
  t.deepEqual(await p.ifd.transmit(cmd), p.processor.expected(cmd));
  t.is(p.ifd.stats.resynchs, before + 1);
  t.is(p.processor.executed.length, 2);
  await p.close();
});
