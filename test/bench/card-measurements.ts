/**
 * What the card-link benchmark measures on one line (any CardStack):
 *
 * - round trips: SELECT, VERIFY PIN1, and VERIFY PIN2 + COMPUTE DIGITAL
 *   SIGNATURE (a signature always needs its PIN2), each timed through the
 *   HomeCard driver;
 * - bytes per signature: wire bytes (both directions, T=1 framing and R-blocks
 *   included) against payload bytes (command APDU + response APDU);
 * - recovery from a flipped bit in the card's answer: from the flip to the
 *   complete good answer, next to the same command's clean round trip.
 */
import { createHash } from 'node:crypto';
import { encodeCommandApdu } from '../../card-io/apdu/command-apdu.js';
import { buildGetData, DataTag } from '../../card-io/home-card/commands/index.js';
import { BENCH_PINS, type CardStack } from './bench-card.js';
import { median, round, summarize, type LatencySummary } from './bench-stats.js';
import type { BitFlipper } from './bit-flip.js';
import { bytesSince, totalBytes, type ByteCount } from './metering.js';

export interface RoundTrips {
  select: LatencySummary;
  verifyPin1: LatencySummary;
  /** VERIFY PIN2 then COMPUTE DIGITAL SIGNATURE. */
  signWithPin2: LatencySummary;
}

export interface BytesFigure {
  /** Median per operation. */
  wireBytes: number;
  payloadBytes: number;
  /** Sum of payload bytes / sum of wire bytes over all iterations. */
  framingEfficiency: number;
}

export interface RoundTripResult {
  latency: RoundTrips;
  bytesPerSign: { sign: BytesFigure; verifyPin2AndSign: BytesFigure };
}

function bytesFigure(samples: ReadonlyArray<{ wire: ByteCount; payload: ByteCount }>): BytesFigure {
  const wire = samples.map((s) => totalBytes(s.wire));
  const payload = samples.map((s) => totalBytes(s.payload));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return { wireBytes: median(wire), payloadBytes: median(payload), framingEfficiency: round(sum(payload) / sum(wire)) };
}

type ByteSample = { wire: ByteCount; payload: ByteCount };

/** Round trips on one line, one iteration at a time, so two lines can take turns in the same time window. */
export class RoundTripRecorder {
  private readonly times = { select: [] as number[], verifyPin1: [] as number[], signWithPin2: [] as number[] };
  private readonly sign: ByteSample[] = [];
  private readonly pin2AndSign: ByteSample[] = [];

  constructor(private readonly stack: CardStack) {}

  /** SELECT, VERIFY PIN1, VERIFY PIN2 + SIGN; kept unless `warmup`. */
  async once(i: number, warmup: boolean): Promise<void> {
    const { card, wire, payload } = this.stack;
    const digest = createHash('sha256').update(`bench ${i}`).digest();
    const t0 = performance.now();
    await card.select();
    const t1 = performance.now();
    await card.verifyPin1(BENCH_PINS.pin1);
    const t2 = performance.now();
    const [wire0, payload0] = [wire.bytes, payload.bytes];
    await card.verifyPin2(BENCH_PINS.pin2);
    const [wire1, payload1] = [wire.bytes, payload.bytes];
    await card.sign(digest);
    const t3 = performance.now();
    const [wire2, payload2] = [wire.bytes, payload.bytes];
    if (warmup) return;
    this.times.select.push(t1 - t0);
    this.times.verifyPin1.push(t2 - t1);
    this.times.signWithPin2.push(t3 - t2);
    this.sign.push({ wire: bytesSince(wire2, wire1), payload: bytesSince(payload2, payload1) });
    this.pin2AndSign.push({ wire: bytesSince(wire2, wire0), payload: bytesSince(payload2, payload0) });
  }

  result(): RoundTripResult {
    const t = this.times;
    return {
      latency: { select: summarize(t.select), verifyPin1: summarize(t.verifyPin1), signWithPin2: summarize(t.signWithPin2) },
      bytesPerSign: { sign: bytesFigure(this.sign), verifyPin2AndSign: bytesFigure(this.pin2AndSign) },
    };
  }
}

export interface RecoveryResult {
  command: string;
  injected: number;
  /** From the flipped bit to the complete good answer. */
  recovery: LatencySummary;
  /** The same command without a fault, alternating with the faulty ones. */
  cleanRoundTrip: LatencySummary;
  retransmissionsPerFault: number;
  /** Commands that failed or answered wrong despite the recovery (expected 0). */
  failures: number;
}

/** Alternates a clean GET DATA DF03 and one whose answer gets a flipped bit. */
export async function measureBitFlipRecovery(stack: CardStack, flipper: BitFlipper, injections: number): Promise<RecoveryResult> {
  const apdu = encodeCommandApdu(buildGetData(DataTag.RetryCounters));
  const expected = await stack.ifd.transmit(Buffer.from(apdu));
  const recovery: number[] = [];
  const clean: number[] = [];
  let failures = 0;
  const retransmissions0 = stack.ifd.stats.retransmissions;
  for (let i = 0; i < injections; i++) {
    const t0 = performance.now();
    const good = await stack.ifd.transmit(Buffer.from(apdu));
    clean.push(performance.now() - t0);
    flipper.arm();
    try {
      const answer = await stack.ifd.transmit(Buffer.from(apdu));
      const done = performance.now();
      if (!answer.equals(expected) || !good.equals(expected) || flipper.flippedAt === undefined) failures++;
      else recovery.push(done - flipper.flippedAt);
    } catch {
      failures++;
    }
  }
  return {
    command: 'GET DATA DF03 (10-byte answer, one I-block)',
    injected: injections,
    recovery: summarize(recovery),
    cleanRoundTrip: summarize(clean),
    retransmissionsPerFault: round((stack.ifd.stats.retransmissions - retransmissions0) / injections),
    failures,
  };
}
