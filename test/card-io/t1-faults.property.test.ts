import test from 'ava';
import fc from 'fast-check';
import { isCardErrorInBand } from '../../card-io/errors.js';
import { createT1Pair } from '../helpers/t1-pair.js';

/**
 * Random line faults (bit flips, dropped chunks, chunks split or duplicated)
 * on both directions. Whatever happens, every transmit ends in the right
 * answer or a typed transport error, no command runs twice, and once the line
 * is clean again the next command succeeds.
 */
test('Under random line faults every command answers correctly or fails typed, none runs twice, and a clean line recovers', async (t) => {
  const seed = Number(process.env.HOMEGATE_SEED ?? Date.now() % 2 ** 31);
  t.log(`seed ${seed} (set HOMEGATE_SEED to replay)`);
  const fault = fc.record({ kind: fc.constantFrom('flip', 'drop', 'split', 'dup', 'none', 'none'), at: fc.nat(300), bit: fc.nat(7) });
  await fc.assert(
    fc.asyncProperty(
      fc.array(fault, { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 4, max: 120 }), { minLength: 1, maxLength: 4 }),
      async (faults, sizes) => {
        const p = createT1Pair({ ifd: { bwtMs: 40 }, card: { bwtMs: 40 } });
        let n = 0;
        p.setFault((chunk) => {
          const f = faults[n++ % faults.length]!;
          const c = Buffer.from(chunk);
          switch (f.kind) {
            case 'flip':
              c[f.at % c.length]! ^= 1 << f.bit;
              return [c];
            case 'drop':
              return [];
            case 'split':
              return [c.subarray(0, f.at % c.length), c.subarray(f.at % c.length)];
            case 'dup':
              return [c, Buffer.from(c)];
            default:
              return [c];
          }
        });
        try {
          for (const [i, size] of sizes.entries()) {
            const cmd = Buffer.alloc(size, i + 1);
            const before = p.processor.executed.length;
            try {
              const answer = await p.ifd.transmit(cmd);
              if (!answer.equals(p.processor.expected(cmd))) return false;
            } catch (e) {
              if (!isCardErrorInBand(e, 200)) return false;
            }
            if (p.processor.executed.length - before > 1) return false;
          }
          p.setFault(undefined);
          const last = Buffer.from('00A4040000', 'hex');
          return (await p.ifd.transmit(last)).equals(p.processor.expected(last));
        } finally {
          await p.close();
        }
      },
    ),
    { numRuns: 40, seed },
  );
  t.pass('property held for all runs');
});

test('Random bytes thrown at the card engine never stop it from answering the next command', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { minLength: 1, maxLength: 6 }), async (garbage) => {
      const p = createT1Pair({ ifd: { bwtMs: 40 }, card: { bwtMs: 40 } });
      try {
        let i = 0;
        // Replace the first blocks on the wire to the card with garbage.
        p.setFault((chunk, dir) => (dir === 'a-to-b' && i < garbage.length ? [Buffer.from(garbage[i++]!)] : [chunk]));
        await p.ifd.transmit(Buffer.from('0102030405', 'hex')).catch((e: unknown) => {
          if (!isCardErrorInBand(e, 200)) throw e;
        });
        p.setFault(undefined);
        const cmd = Buffer.from('00CA00DF0100', 'hex');
        return (await p.ifd.transmit(cmd)).equals(p.processor.expected(cmd));
      } finally {
        await p.close();
      }
    }),
    { numRuns: 40 },
  );
  t.pass('property held for all runs');
});
