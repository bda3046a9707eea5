import test from 'ava';
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import { createT1Pair } from '../helpers/t1-pair.js';

const apdu = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));

test('A short command gets its answer and runs exactly once', async (t) => {
  const p = createT1Pair();
  const cmd = apdu(5);
  t.deepEqual(await p.ifd.transmit(cmd), p.processor.expected(cmd));
  t.is(p.processor.executed.length, 1);
  await p.close();
});

test('A command longer than IFSC is chained and a long answer is chained back', async (t) => {
  const p = createT1Pair();
  await p.ifd.start();
  p.processor.repeat = 3;
  const cmd = apdu(300);
  const before = p.ifd.stats.blocksSent;
  t.deepEqual(await p.ifd.transmit(cmd), p.processor.expected(cmd));
  t.deepEqual(p.processor.executed, [cmd]);
  // 300 bytes in 32-byte blocks is 10 I-blocks; 902 answer bytes need 29 blocks, 28 acknowledged by R-blocks.
  t.is(p.ifd.stats.blocksSent - before, 10 + 29 - 1);
  await p.close();
});

test('Several commands in a row alternate sequence numbers correctly', async (t) => {
  const p = createT1Pair();
  for (let i = 0; i < 6; i++) {
    const cmd = apdu(10 + i * 20, i);
    t.deepEqual(await p.ifd.transmit(cmd), p.processor.expected(cmd));
  }
  t.is(p.processor.executed.length, 6);
  await p.close();
});

test('An IFSD of 254 announced with S(IFS) lets the card answer in fewer blocks', async (t) => {
  const p = createT1Pair({ ifd: { ifsd: 254 } });
  await p.ifd.start();
  p.processor.repeat = 2;
  const cmd = apdu(200);
  const before = p.ifd.stats.blocksSent;
  t.deepEqual(await p.ifd.transmit(cmd), p.processor.expected(cmd));
  // 200 bytes to a card with IFSC 32: 7 blocks; 402 answer bytes in 254-byte blocks: 2 blocks, 1 R-block.
  t.is(p.ifd.stats.blocksSent - before, 7 + 1);
  await p.close();
});

test('A bit flipped in the card answer is corrected by an R-block and the command runs once', async (t) => {
  const p = createT1Pair();
  await p.ifd.start(); // the flip is meant for the command's answer, not for S(RESYNCH)
  let flipped = false;
  p.setFault((chunk, dir) => {
    if (dir === 'b-to-a' && !flipped) {
      flipped = true;
      const c = Buffer.from(chunk);
      c[3]! ^= 0x04;
      return [c];
    }
    return [chunk];
  });
  const cmd = apdu(20);
  t.deepEqual(await p.ifd.transmit(cmd), p.processor.expected(cmd));
  t.true(flipped);
  t.is(p.processor.executed.length, 1);
  t.true(p.ifd.stats.retransmissions >= 1);
  await p.close();
});

test('A lost answer is sent again without running the command twice', async (t) => {
  const p = createT1Pair({ ifd: { bwtMs: 80 }, card: { bwtMs: 80 } });
  let dropped = 0;
  p.setFault((chunk, dir) => (dir === 'b-to-a' && dropped++ === 0 ? [] : [chunk]));
  const cmd = apdu(8);
  t.deepEqual(await p.ifd.transmit(cmd), p.processor.expected(cmd));
  t.is(p.processor.executed.length, 1);
  await p.close();
});

test('A lost command block is sent again after the card names the block it expects', async (t) => {
  const p = createT1Pair({ ifd: { bwtMs: 80 }, card: { bwtMs: 80 } });
  await p.ifd.transmit(apdu(4)); // move the sequence numbers off their initial values
  let dropped = 0;
  p.setFault((chunk, dir) => (dir === 'a-to-b' && dropped++ === 0 ? [] : [chunk]));
  const cmd = apdu(40, 9);
  t.deepEqual(await p.ifd.transmit(cmd), p.processor.expected(cmd));
  t.is(p.processor.executed.length, 2);
  await p.close();
});

test('Duplicated blocks in both directions neither break the exchange nor run a command twice', async (t) => {
  const p = createT1Pair();
  p.setFault((chunk) => [chunk, Buffer.from(chunk)]);
  for (let i = 0; i < 4; i++) {
    const cmd = apdu(50, i);
    t.deepEqual(await p.ifd.transmit(cmd), p.processor.expected(cmd));
  }
  t.is(p.processor.executed.length, 4);
  await p.close();
});

test('Blocks split into single bytes on the wire are reassembled', async (t) => {
  const p = createT1Pair();
  p.setFault((chunk) => [...chunk].map((b) => Buffer.from([b])));
  p.processor.repeat = 2;
  const cmd = apdu(70);
  t.deepEqual(await p.ifd.transmit(cmd), p.processor.expected(cmd));
  await p.close();
});

test(
  'When the card stops answering, the command fails with a typed error, and after it answers again the link resynchronizes and the next command ' + 'succeeds',
  async (t) => {
    const p = createT1Pair({ ifd: { bwtMs: 80 }, card: { bwtMs: 80 } });
    await p.ifd.transmit(apdu(3));
    p.setFault((chunk, dir) => (dir === 'b-to-a' ? [] : [chunk]));
    const err = await t.throwsAsync(p.ifd.transmit(apdu(6)), { instanceOf: CardError });
    t.is(err?.code, CardErrorCode.BlockTimeout);
    p.setFault(undefined);
    const cmd = apdu(12, 3);
    t.deepEqual(await p.ifd.transmit(cmd), p.processor.expected(cmd));
    t.true(p.ifd.stats.resynchs >= 3); // at start, after the failure, and before the next command
    await p.close();
  },
);

test('A slow command is kept alive by S(WTX) instead of timing out', async (t) => {
  // BWT 100 ms with 3 retries gives up after well under a second without WTX; the card needs 1.5 s.
  const p = createT1Pair({ ifd: { bwtMs: 100 }, card: { bwtMs: 100 } });
  await p.ifd.start();
  p.processor.delayMs = 1500;
  const cmd = apdu(9);
  t.deepEqual(await p.ifd.transmit(cmd), p.processor.expected(cmd));
  t.is(p.processor.executed.length, 1);
  t.true(p.ifd.stats.wtx >= 2);
  await p.close();
});

test('Persistent corruption ends in Resynchronized and the command is reported as possibly not run', async (t) => {
  const p = createT1Pair({ ifd: { bwtMs: 80 }, card: { bwtMs: 80 } });
  p.setFault((chunk, dir) => {
    if (dir !== 'b-to-a' || chunk[1] === 0xe0) return [chunk]; // let S(RESYNCH response) through
    const c = Buffer.from(chunk);
    c[c.length - 1]! ^= 0xff;
    return [c];
  });
  const err = await t.throwsAsync(p.ifd.transmit(apdu(6)), { instanceOf: CardError });
  t.is(err?.code, CardErrorCode.Resynchronized);
  p.setFault(undefined);
  const cmd = apdu(6, 2);
  t.deepEqual(await p.ifd.transmit(cmd), p.processor.expected(cmd));
  await p.close();
});

test('A transmit while another is in progress is refused, not interleaved', async (t) => {
  const p = createT1Pair();
  const first = p.ifd.transmit(apdu(5));
  await t.throwsAsync(p.ifd.transmit(apdu(5)), { instanceOf: CardError, message: /in progress/ });
  await first;
  await p.close();
});
