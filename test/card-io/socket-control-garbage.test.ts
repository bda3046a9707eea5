/**
 * The virtual socket's control channel (contact-control.ts) against garbage:
 * the line splitter and parser on random streams (fast-check, seed printed,
 * HOMEGATE_SEED replays), the emulator process fed random bytes on its
 * control channel, and the gateway's virtual backend fed random lines by a
 * peer that is not an emulator. Never a crash or a hang; the tail of an
 * over-long line is never taken for a command.
 */
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { activateHomeCard } from '../../card-io/home-card/connect-socket.js';
import { type ControlCommand, formatControlCommand, LineSplitter, parseControlLine } from '../../card-io/socket/contact-control.js';
import { VirtualSignals } from '../../card-io/socket/virtual-signals.js';
import { tempDir } from '../helpers/household/card-fixture.js';
import { seedFromEnv } from '../helpers/seeded-random.js';
import { bootVirtualSocket } from '../helpers/virtual-socket.js';

test('the tail of an over-long control line is dropped with it, not taken for a command', (t) => {
  const lines: string[] = [];
  const splitter = new LineSplitter((l) => lines.push(l));
  splitter.push('x'.repeat(300));
  splitter.push(' hang\n');
  splitter.push('power 1\n');
  t.deepEqual(lines, ['power 1']);
});

const pieces = ['power 1', 'rst 0', 'detect?', 'hang', 'insert bounce=5', 'mute 1', 'x'.repeat(120), ' ', '\n', '\n', 'é', '\r', 'bounce=999'];

test('any stream cut anywhere gives exactly its lines of at most 256 characters, each parsed to a command or nothing, never a throw', (t) => {
  const seed = seedFromEnv();
  t.log(`seed ${seed} (HOMEGATE_SEED replays it)`);
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 10 }), (parts, cutsRaw) => {
      const stream = parts.join('');
      const cuts = [...new Set(cutsRaw.map((c) => (stream.length ? c % stream.length : 0)))].sort((a, b) => a - b);
      const got: string[] = [];
      const splitter = new LineSplitter((l) => got.push(l));
      let at = 0;
      for (const c of [...cuts, stream.length]) {
        splitter.push(stream.slice(at, c));
        at = c;
      }
      const expected = stream
        .split('\n')
        .slice(0, -1)
        .filter((l) => l.length <= 256);
      t.deepEqual(got, expected);
      for (const l of got) {
        const c = parseControlLine(l);
        if (c) t.deepEqual(parseControlLine(formatControlCommand(c)), c);
      }
    }),
    { seed, numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (line) => {
      parseControlLine(line);
    }),
    { seed, numRuns: 1000 },
  );
  t.pass();
});

test('every control command survives formatting and parsing', (t) => {
  const command: fc.Arbitrary<ControlCommand> = fc.oneof(
    fc.record({ kind: fc.constant('power' as const), on: fc.boolean() }),
    fc.record({ kind: fc.constant('rst' as const), asserted: fc.boolean() }),
    fc.record({ kind: fc.constant('mute' as const), on: fc.boolean() }),
    fc.record({ kind: fc.constant('detect' as const), present: fc.boolean() }),
    fc.constant({ kind: 'detect?' as const }),
    fc.constant({ kind: 'hang' as const }),
    fc.record({ kind: fc.constantFrom('insert' as const, 'remove' as const), bounce: fc.integer({ min: 0, max: 100 }) }),
    fc.record({ kind: fc.constant('pps' as const), behaviour: fc.constantFrom('accept' as const, 'default' as const, 'mute' as const) }),
  );
  fc.assert(
    fc.property(command, (c) => {
      t.deepEqual(parseControlLine(formatControlCommand(c).trimEnd()), c);
    }),
  );
  t.pass();
});

test('the emulator fed random bytes on its control channel keeps answering: detect, reset and ATR work afterwards', async (t) => {
  const seed = seedFromEnv();
  t.log(`seed ${seed}`);
  const v = await bootVirtualSocket(t);
  const garbage = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 400 }), { seed, numRuns: 40 });
  const rogue = await VirtualSignals.connect({ control: v.control });
  t.teardown(() => rogue.close());
  const raw = (rogue as unknown as { socket: Socket }).socket;
  for (const bytes of garbage) raw.write(bytes);
  raw.write('\n');
  // Still the card in its socket: the detect switch answers and the card answers a reset with its ATR.
  t.true(await v.signals.readDetect());
  const active = await activateHomeCard({ socket: v.socket, baudRate: 115200 });
  t.teardown(() => active.close());
  t.regex((await active.card.info()).cardId, /^[0-9a-f]{16}$/);
});

test("the gateway's virtual backend fed random lines by a peer that is not an emulator neither crashes nor takes them for edges", async (t) => {
  const seed = seedFromEnv();
  t.log(`seed ${seed}`);
  const path = join(await tempDir(t, 'homegate-control-'), 'control.sock');
  const garbage = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 400 }), { seed, numRuns: 40 });
  const server = createServer((s) => {
    s.on('error', () => undefined);
    s.on('data', (d) => {
      if (!d.toString().includes('detect?')) return;
      for (const bytes of garbage)
        s.write(
          Buffer.from(bytes)
            .toString('latin1')
            .replace(/detect [01]/g, '')
            .replace(/\n/g, '\r'),
        );
      s.write('\n');
      s.write('detect 1\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const signals = await VirtualSignals.connect({ control: path });
  t.teardown(() => signals.close());
  const edges: boolean[] = [];
  signals.onDetectEdge((p) => edges.push(p));
  t.true(await signals.readDetect());
  t.deepEqual(edges, [true], 'only the real detect line is an edge');
});
