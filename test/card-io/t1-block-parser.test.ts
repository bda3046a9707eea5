import test from 'ava';
import fc from 'fast-check';
import { encodeBlock, iBlock, rBlock, sBlock, type Block } from '../../card-io/t1/block.js';
import { BlockParser, type BlockEvent } from '../../card-io/t1/block-parser.js';

const frames: Block[] = [iBlock(0, true, Buffer.alloc(32, 0xa5)), rBlock(1), sBlock('WTX', false, [3]), iBlock(1, false, Buffer.from('9000', 'hex'))];
const stream = Buffer.concat(frames.map((b) => encodeBlock(b, 0, 'lrc')));

function blocksOf(events: BlockEvent[]): Block[] {
  return events.flatMap((e) => (e.type === 'block' ? [e.block] : []));
}

test('A stream split at every possible single boundary still yields the same blocks', (t) => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const p = new BlockParser();
    const events = [...p.push(stream.subarray(0, cut)), ...p.push(stream.subarray(cut))];
    t.deepEqual(blocksOf(events), frames, `cut at ${cut}`);
  }
});

test('A stream fed one byte at a time yields the same blocks', (t) => {
  const p = new BlockParser();
  const events = [...stream].flatMap((byte) => p.push(Buffer.from([byte])));
  t.deepEqual(blocksOf(events), frames);
});

test('A length byte that crosses a chunk boundary is read correctly', (t) => {
  const p = new BlockParser();
  const bytes = encodeBlock(iBlock(0, false, Buffer.alloc(200, 1)), 0, 'lrc');
  t.deepEqual(p.push(bytes.subarray(0, 2)), []);
  const events = p.push(bytes.subarray(2));
  t.is(events.length, 1);
  t.is(events[0]!.type, 'block');
});

test('A flipped bit is reported as a bad EDC and the next block still parses', (t) => {
  const p = new BlockParser();
  const bad = Buffer.from(encodeBlock(iBlock(0, false, Buffer.from('00A4040000', 'hex')), 0, 'lrc'));
  bad[5]! ^= 0x10;
  const events = p.push(Buffer.concat([bad, encodeBlock(rBlock(0), 0, 'lrc')]));
  t.deepEqual(
    events.map((e) => e.type),
    ['bad-edc', 'block'],
  );
});

test('Bytes that cannot start a frame are reported as discarded and parsing resynchronizes', (t) => {
  const p = new BlockParser();
  const events = p.push(Buffer.concat([Buffer.from([0x55, 0xaa, 0x13]), encodeBlock(rBlock(1), 0, 'lrc')]));
  t.deepEqual(
    events.map((e) => e.type),
    ['discarded', 'block'],
  );
  const discarded = events[0] as Extract<BlockEvent, { type: 'discarded' }>;
  t.deepEqual([...discarded.bytes], [0x55, 0xaa, 0x13]);
});

test('A truncated frame stays pending until flush drops it', (t) => {
  const p = new BlockParser();
  const bytes = encodeBlock(iBlock(0, false, Buffer.alloc(10)), 0, 'lrc');
  t.deepEqual(p.push(bytes.subarray(0, 7)), []);
  t.is(p.pendingLength, 7);
  const dropped = p.flush();
  t.is(dropped?.type, 'discarded');
  t.is(p.pendingLength, 0);
  t.deepEqual(blocksOf(p.push(encodeBlock(rBlock(0), 0, 'lrc'))), [rBlock(0)]);
});

test('A semantically invalid frame with a good EDC is reported invalid', (t) => {
  const p = new BlockParser();
  const frame = Buffer.from([0x00, 0x80, 0x01, 0x00]);
  const withEdc = Buffer.concat([frame, Buffer.from([frame.reduce((a, b) => a ^ b, 0)])]);
  t.deepEqual(
    p.push(withEdc).map((e) => e.type),
    ['invalid'],
  );
});

test('Random byte streams in random chunks never make the parser throw, and every byte is accounted for', (t) => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), fc.constantFrom<'lrc' | 'crc'>('lrc', 'crc'), (chunks, edc) => {
      const p = new BlockParser({ edc });
      let seen = 0;
      const count = (e: BlockEvent) => (seen += e.type === 'discarded' ? e.bytes.length : e.raw.length);
      for (const c of chunks) p.push(c).forEach(count);
      const rest = p.flush();
      if (rest) count(rest);
      return seen === chunks.reduce((n, c) => n + c.length, 0);
    }),
    { numRuns: 300 },
  );
  t.pass('property held for all runs');
});

test('Valid frames interleaved with random noise are all found when the noise cannot start a frame', (t) => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.uint8Array({ maxLength: 40 }).map((n) => n.map((b) => b | 0x01)),
          fc.integer({ min: 0, max: 1 }),
        ),
        { minLength: 1, maxLength: 10 },
      ),
      (parts) => {
        // Noise bytes are odd, so none can be the NAD 00 that starts a frame.
        const blocks = parts.map(([, ns]) => rBlock(ns as 0 | 1));
        const bytes = Buffer.concat(parts.flatMap(([noise], i) => [Buffer.from(noise), encodeBlock(blocks[i]!, 0, 'lrc')]));
        const p = new BlockParser();
        return JSON.stringify(blocksOf(p.push(bytes))) === JSON.stringify(blocks);
      },
    ),
    { numRuns: 200 },
  );
  t.pass('property held for all runs');
});
