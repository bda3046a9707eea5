/**
 * Property tests of the whole card stack against line noise (STYLE items 3
 * and 11: real captured bytes, mutated):
 *
 *  (a) the card side: random bytes and mutations of T=1 frames captured from a
 *      real driver ↔ emulator session are written straight onto the card's
 *      link. The emulator must keep answering (a fresh driver then talks to it
 *      normally) and its image file must not change: line noise is no command.
 *  (b) the driver side: a fake card answers every block with garbage (noise,
 *      well-framed nonsense, chains, WTX, ABORT, mutated frames). Every HomeCard
 *      call must settle before its timeout, and fail, if it fails, with a CardError.
 *
 * Replay a failure with HOMEGATE_SEED=<the logged seed>.
 */
import { readFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { isCardError } from '../../card-io/errors.js';
import { HomeCard } from '../../card-io/home-card/home-card.js';
import type { ByteLink } from '../../card-io/link/link.js';
import { createMemoryLinkPair } from '../../card-io/link/memory-link.js';
import { silentLogger } from '../../card-io/base/log.js';
import { BlockParser } from '../../card-io/t1/block-parser.js';
import { computeEdc } from '../../card-io/t1/edc.js';
import { T1InterfaceDevice } from '../../card-io/t1/t1-interface-device.js';
import { TEST_PINS, bootMemoryCard, personalizeTestCard, type MemoryCard } from '../helpers/household/index.js';
import { delay } from '../helpers/link-probes.js';

const CWT_MS = 20;

function seedFor(t: { log(...values: unknown[]): void }): number {
  const seed = Number(process.env.HOMEGATE_SEED ?? Date.now() % 2 ** 31);
  t.log(`fast-check seed ${seed} (set HOMEGATE_SEED to replay)`);
  return seed;
}

/** A frame with a correct LRC around any PCB and INF: gets past the envelope check. */
function framed(pcb: number, inf: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from([0x00, pcb, inf.length]), inf]);
  return Buffer.concat([body, computeEdc('lrc', body)]);
}

// ---------------------------------------------------------------------------
// Mutations of captured frames

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate' }
  | { kind: 'insert'; at: number; bytes: Uint8Array };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

function mutate(frame: Buffer, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(frame);
  for (const m of mutations) {
    if (b.length === 0) break;
    switch (m.kind) {
      case 'flip':
        b[m.at % b.length]! ^= 1 << m.bit;
        break;
      case 'truncate':
        b = b.subarray(0, m.at % b.length);
        break;
      case 'duplicate':
        b = Buffer.concat([b, b]);
        break;
      case 'insert': {
        const at = m.at % (b.length + 1);
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      }
    }
  }
  return b;
}

// ---------------------------------------------------------------------------
// (a) Noise onto the card side

/**
 * Frames of a real session, both directions, one per write (the memory link
 * carries each block in one chunk). Only commands that change nothing on the
 * card are captured (no PIN, no admin key), so replaying them verbatim is no
 * state change either: SELECT, GET DATA (chained answers), PIN status queries,
 * and VERIFY CERTIFICATE / COMPUTE SIGNATURE refused without a release
 * (a chained command). Plus S(RESYNCH) and S(IFS) from start().
 */
async function captureFrames(cut: MemoryCard, chain: Buffer[]): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  cut.pair.setFault((chunk) => {
    frames.push(Buffer.from(chunk));
    return [chunk];
  });
  await cut.ifd.start();
  await cut.card.select();
  await cut.card.info();
  await cut.card.pinStatus('PIN1');
  await cut.card.pinStatus('PIN2');
  await cut.card.verifyCertificateChain(chain, new Date()).catch(() => undefined);
  await cut.card.sign(Buffer.alloc(32, 0x5a)).catch(() => undefined);
  cut.pair.setFault(undefined);
  return frames;
}

/** Resolves once nothing came from the card for `quietMs` (it answered all it will). */
async function untilQuiet(quietMs: number, since: () => number): Promise<void> {
  for (;;) {
    const idle = Date.now() - since();
    if (idle >= quietMs) return;
    await delay(quietMs - idle);
  }
}

test('Random and mutated T=1 byte streams never stop the emulator from answering and never change the card image', async (t) => {
  const seed = seedFor(t);
  const cut = await bootMemoryCard(t, { t1: { ifsd: 64, cwtMs: CWT_MS } });
  const { market } = await personalizeTestCard(cut);
  const frames = await captureFrames(cut, market.chain);
  t.true(frames.length > 40, `${frames.length} frames captured`);
  // The fixture's driver is done: each run below connects a fresh one, as a gateway after noise would.
  cut.ifd.close();
  const image = await readFile(cut.imagePath);
  let lastFromCard = Date.now();
  cut.pair.a.onData(() => (lastFromCard = Date.now()));

  const frameArb = fc.constantFrom(...frames);
  const piece = fc.record({
    bytes: fc.oneof(
      frameArb,
      fc.tuple(frameArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([f, m]) => mutate(f, m)),
      fc.uint8Array({ maxLength: 80 }).map((u) => Buffer.from(u)),
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 })).map(([pcb, inf]) => framed(pcb, inf)),
    ),
    // What the line does after this piece: nothing (the next piece follows in the same burst),
    // a pause of one turn, or a pause longer than CWT (a partial frame is dropped).
    then: fc.constantFrom('burst', 'turn', 'cwt'),
  });

  let runs = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(piece, { minLength: 1, maxLength: 10 }), async (pieces) => {
      runs++;
      let burst: Buffer[] = [];
      for (const p of pieces) {
        burst.push(p.bytes);
        if (p.then === 'burst') continue;
        await cut.pair.a.write(Buffer.concat(burst));
        burst = [];
        await delay(p.then === 'cwt' ? CWT_MS + 5 : 0);
      }
      if (burst.length) await cut.pair.a.write(Buffer.concat(burst));
      await untilQuiet(3 * CWT_MS, () => lastFromCard);

      const ifd = new T1InterfaceDevice({ link: cut.pair.a, logger: silentLogger, bwtMs: 300, cwtMs: CWT_MS });
      const card = new HomeCard({ transport: ifd, commandTimeoutMs: 5000 });
      try {
        const selected = await card.select();
        const status = await card.pinStatus('PIN1');
        if (selected.lifeCycle !== 'operational' || status.verified || status.triesLeft !== 3) return false;
      } finally {
        ifd.close();
      }
      return (await readFile(cut.imagePath)).equals(image);
    }),
    { numRuns: 80, seed },
  );
  // And the card still does real work after all that noise.
  const ifd = new T1InterfaceDevice({ link: cut.pair.a, logger: silentLogger, cwtMs: CWT_MS });
  const card = new HomeCard({ transport: ifd });
  t.teardown(() => ifd.close());
  await card.verifyPin1(TEST_PINS.pin1);
  await card.verifyPin2(TEST_PINS.pin2);
  t.true((await card.sign(createHash('sha256').update('after the noise').digest())).length > 0);
  t.log(`${runs} runs, ${frames.length} captured frames`);
});

// ---------------------------------------------------------------------------
// (b) Garbage from a fake card onto the driver side

/** What the fake card does when a block from the driver arrives. */
type Reply =
  | { kind: 'silence' }
  | { kind: 'noise'; bytes: Uint8Array }
  | { kind: 'frame'; pcb: number; inf: Uint8Array }
  | { kind: 'answer'; ns: 0 | 1; more: boolean; inf: Uint8Array }
  | { kind: 'echo-s' }
  | { kind: 'wtx'; multiplier: number }
  | { kind: 'mutated'; pcb: number; inf: Uint8Array; mutations: Mutation[] };

const STATUS_WORDS = [0x9000, 0x63c2, 0x63c0, 0x6983, 0x6982, 0x6985, 0x6a80, 0x6a88, 0x6300, 0x6700, 0x6f00, 0x6581, 0x61ff];
const INTERESTING_PCB = [0x00, 0x40, 0x20, 0x60, 0x80, 0x90, 0x81, 0x92, 0xc0, 0xe0, 0xc1, 0xe1, 0xc2, 0xe2, 0xc3, 0xe3, 0xc4];

const responseInf = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.tuple(fc.uint8Array({ maxLength: 30 }), fc.constantFrom(...STATUS_WORDS)).map(([data, sw]) => Uint8Array.from([...data, sw >> 8, sw & 0xff])),
);
const pcbArb = fc.oneof(fc.constantFrom(...INTERESTING_PCB), fc.integer({ min: 0, max: 255 }));
/** S(WTX), S(IFS) and S(ABORT) requests carry one byte or none; the byte spans its whole range. */
const frameInf = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 1 }), fc.uint8Array({ maxLength: 40 }));

/** Weighted so that scripts often get past S(RESYNCH) and reach the command and response parsers. */
const replyArb: fc.Arbitrary<Reply> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'silence' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('noise' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 60 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('frame' as const), pcb: pcbArb, inf: frameInf }) },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('answer' as const), ns: fc.constantFrom(0 as const, 1 as const), more: fc.boolean(), inf: responseInf }),
  },
  { weight: 5, arbitrary: fc.constant({ kind: 'echo-s' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wtx' as const), multiplier: fc.integer({ min: 1, max: 255 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('mutated' as const),
      pcb: pcbArb,
      inf: frameInf,
      mutations: fc.array(mutationArb, { minLength: 1, maxLength: 2 }),
    }),
  },
);

function replyBytes(reply: Reply, request: Buffer | undefined): Buffer | undefined {
  switch (reply.kind) {
    case 'silence':
      return undefined;
    case 'noise':
      return Buffer.from(reply.bytes);
    case 'frame':
      return framed(reply.pcb, reply.inf);
    case 'answer':
      return framed((reply.ns << 6) | (reply.more ? 0x20 : 0), reply.inf);
    case 'echo-s':
      // The right S-response to an S-request (gets the driver past S(RESYNCH)); else an R-block.
      if (request && (request[1]! & 0xe0) === 0xc0) return framed(request[1]! | 0x20, request.subarray(3, 3 + request[2]!));
      return framed(0x80, new Uint8Array(0));
    case 'wtx':
      return framed(0xc3, Uint8Array.of(reply.multiplier));
    case 'mutated':
      return mutate(framed(reply.pcb, reply.inf), reply.mutations);
  }
}

/**
 * A card on `link` that answers each block from the driver with the next
 * scripted reply, round and round: a broken card never stops, so a reply that
 * makes the driver send again (S(WTX), S(IFS), a stale block) comes back forever.
 */
function fakeCard(link: ByteLink, script: readonly Reply[]): void {
  const parser = new BlockParser();
  let next = 0;
  link.onData((chunk) => {
    for (const e of parser.push(chunk)) {
      if (e.type === 'discarded') continue;
      const reply = script[next++ % script.length]!;
      const bytes = replyBytes(reply, e.raw);
      if (bytes?.length) link.write(bytes).catch(() => undefined);
    }
  });
}

type Call = (card: HomeCard) => Promise<unknown>;

const CALLS: Record<string, Call> = {
  select: (c) => c.select(),
  info: (c) => c.info(),
  verifyPin1: (c) => c.verifyPin1(TEST_PINS.pin1),
  verifyPin2: (c) => c.verifyPin2(TEST_PINS.pin2),
  pinStatus: (c) => c.pinStatus('PIN1'),
  resetPinState: (c) => c.resetPinState('PIN2'),
  changePin: (c) => c.changePin('PIN1', TEST_PINS.pin1, '2468'),
  unblockPin: (c) => c.unblockPin('PIN1', TEST_PINS.puk, '2468'),
  authenticateAdmin: (c) => c.authenticateAdmin(randomBytes(32)),
  generateKeyPair: (c) => c.generateKeyPair(),
  listTrustAnchors: (c) => c.listTrustAnchors(),
  removeTrustAnchor: (c) => c.removeTrustAnchor('ab'.repeat(32)),
  activate: (c) => c.activate(),
  factoryReset: (c) => c.factoryReset(),
  verifyCertificateChain: (c) => c.verifyCertificateChain([randomBytes(300)], new Date()),
  sign: (c) => c.sign(Buffer.alloc(32, 1)),
  signSessionCertificate: (c) => c.signSessionCertificate(randomBytes(120)),
};

const COMMAND_TIMEOUT_MS = 1000;
/** Driver T=1 timing for these tests: short BWT, and a transmit bound well below the command timeout. */
const FAST_IFD = { bwtMs: 50, cwtMs: 10, maxTransmitMs: 300 };
/** How long after its timeout a call may take to settle: timer slack, not protocol time. */
const SETTLE_SLACK_MS = 1000;

test('Garbage answers from a card make every HomeCard call settle in time, and every failure is a CardError', async (t) => {
  const seed = seedFor(t);
  const outcomes = new Map<string, number>();
  const count = (key: string): void => void outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  await fc.assert(
    fc.asyncProperty(
      fc.array(replyArb, { minLength: 1, maxLength: 40 }),
      fc.array(fc.constantFrom(...Object.keys(CALLS)), { minLength: 1, maxLength: 3 }),
      async (script, calls) => {
        const pair = createMemoryLinkPair('fuzz');
        fakeCard(pair.b, script);
        const ifd = new T1InterfaceDevice({ ...FAST_IFD, link: pair.a, logger: silentLogger });
        const card = new HomeCard({ transport: ifd, commandTimeoutMs: COMMAND_TIMEOUT_MS });
        try {
          for (const name of calls) {
            let timer: NodeJS.Timeout | undefined;
            const hang = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), COMMAND_TIMEOUT_MS + SETTLE_SLACK_MS)));
            const outcome = await Promise.race([
              CALLS[name]!(card).then(
                () => 'ok',
                (e: unknown) => (isCardError(e) ? `CardError ${e.code}` : `other: ${String(e)}`),
              ),
              hang,
            ]);
            clearTimeout(timer);
            count(outcome);
            if (outcome === 'hang' || outcome.startsWith('other')) {
              t.log(`${name}: ${outcome}`);
              return false;
            }
          }
          return true;
        } finally {
          ifd.close();
          await pair.a.close();
          await pair.b.close();
        }
      },
    ),
    { numRuns: 50, seed },
  );
  t.log(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  t.pass();
});

/**
 * Regressions, found by the property above: a card answering every block with
 * S(WTX) (granted BWT x 255 each time), with S(IFS request), or with one more
 * empty chained I-block held the T=1 transmit forever, and with it every later
 * command, which then never settled, not even with CommandTimeout.
 */
const RESYNCH_RESPONSE = framed(0xe0, new Uint8Array(0));
const isResynchRequest = (block: Buffer): boolean => block[1] === 0xc0;

/** Each entry makes a fresh card: block from the driver in, the card's answer out. */
const endlessCards: ReadonlyArray<[string, () => (block: Buffer) => Buffer]> = [
  ['asks for more time forever', () => (b) => (isResynchRequest(b) ? RESYNCH_RESPONSE : framed(0xc3, Uint8Array.of(255)))],
  ['asks for a new IFSC forever', () => (b) => (isResynchRequest(b) ? RESYNCH_RESPONSE : framed(0xc1, Uint8Array.of(32)))],
  [
    'chains its answer forever',
    () => {
      let ns = 0;
      return (b) => {
        if (isResynchRequest(b)) {
          ns = 0;
          return RESYNCH_RESPONSE;
        }
        // I(N(S), M) with an empty INF: legal within a chain (ISO/IEC 7816-3 §11.6), here without end.
        const block = framed((ns << 6) | 0x20, new Uint8Array(0));
        ns ^= 1;
        return block;
      };
    },
  ],
];
for (const [what, makeReply] of endlessCards) {
  test(`A card that ${what} fails the command in time and does not hold the next one`, async (t) => {
    await endlessCardFailsInTime(t, makeReply());
  });
}

async function endlessCardFailsInTime(t: ExecutionContext, answer: (block: Buffer) => Buffer): Promise<void> {
  const pair = createMemoryLinkPair('endless');
  // S(RESYNCH) is answered, so the driver gets to send its command; the memory link carries one block per chunk.
  pair.b.onData((chunk) => void pair.b.write(answer(chunk)).catch(() => undefined));
  const ifd = new T1InterfaceDevice({ ...FAST_IFD, link: pair.a, logger: silentLogger });
  const card = new HomeCard({ transport: ifd, commandTimeoutMs: COMMAND_TIMEOUT_MS });
  t.teardown(async () => {
    ifd.close();
    await pair.a.close();
    await pair.b.close();
  });
  for (const attempt of [1, 2]) {
    const started = Date.now();
    const error = await t.throwsAsync(card.select());
    t.true(isCardError(error), `attempt ${attempt}: ${String(error)}`);
    t.true(Date.now() - started < COMMAND_TIMEOUT_MS, `attempt ${attempt} took ${Date.now() - started} ms`);
  }
}
