/**
 * Card-link benchmark: the same personalized card behind (a) a real pty pair
 * (socat) with the emulator in its own process, and (b) the in-memory link
 * with the emulator in this process, the baseline measured in the same run:
 * the two lines take turns iteration by iteration.
 * Both cards keep their state in a card image file (fsync per commit), so the
 * ratio pty/memory is the cost of the line and the process boundary.
 *
 * Environment: HOMEGATE_BENCH_N (round trips per line, default 200),
 * HOMEGATE_BENCH_FAULTS (bit flips per line, default 100), HOMEGATE_SEED.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom, seedFromEnv } from '../helpers/seeded-random.js';
import { copyImage, openCardStack, personalizedImage, type CardStack } from './bench-card.js';
import { round } from './bench-stats.js';
import { BitFlipper, FaultyReceiveLink } from './bit-flip.js';
import { measureBitFlipRecovery, RoundTripRecorder, type RecoveryResult, type RoundTripResult, type RoundTrips } from './card-measurements.js';
import { startMemoryLine, type CardLine } from './memory-line.js';
import { socatInstalled, startPtyLine } from './pty-line.js';

export interface CardLinkBenchConfig {
  iterations: number;
  warmup: number;
  faultInjections: number;
  seed: number;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

export function readCardLinkBenchConfig(env: NodeJS.ProcessEnv = process.env): CardLinkBenchConfig {
  const iterations = positiveInt(env, 'HOMEGATE_BENCH_N', 200);
  return {
    iterations,
    warmup: Math.min(20, Math.ceil(iterations / 10)),
    faultInjections: positiveInt(env, 'HOMEGATE_BENCH_FAULTS', 100),
    seed: seedFromEnv(env),
  };
}

interface OpenLine {
  readonly kind: 'memory' | 'pty';
  readonly stack: CardStack;
  readonly flipper: BitFlipper;
  readonly faultInjection: string;
  close(): Promise<void>;
}

/** The card behind the line, the reader's stack on it, and a bit flipper in the card-to-reader direction. */
async function openLine(kind: 'memory' | 'pty', imagePath: string, seed: number): Promise<OpenLine> {
  const flipper = new BitFlipper(seededRandom(seed));
  let line: CardLine;
  let faultInjection: string;
  if (kind === 'memory') {
    const memory = await startMemoryLine(imagePath);
    memory.setFault((chunk, direction) => [direction === 'b-to-a' ? flipper.apply(chunk) : chunk]);
    line = memory;
    faultInjection = "memory link fault hook on the card's write";
  } else {
    const pty = await startPtyLine(imagePath);
    line = { ...pty, hostLink: new FaultyReceiveLink(pty.hostLink, (chunk) => flipper.apply(chunk)) };
    faultInjection = 'reader-side link wrapper, bytes as they arrive from the pty';
  }
  try {
    const stack = await openCardStack(line.hostLink);
    const close = async (): Promise<void> => {
      stack.close();
      await line.close();
    };
    return { kind, stack, flipper, faultInjection, close };
  } catch (e) {
    await line.close();
    throw e;
  }
}

type LineResult = RoundTripResult & { bitFlipRecovery: RecoveryResult; faultInjection: string };

/** The lines take turns, iteration by iteration, so both see the same machine load and disk. */
async function measureLines(lines: readonly OpenLine[], config: CardLinkBenchConfig): Promise<Map<string, LineResult>> {
  const recorders = lines.map((l) => new RoundTripRecorder(l.stack));
  for (let i = 0; i < config.warmup + config.iterations; i++) {
    for (const r of recorders) await r.once(i, i < config.warmup);
  }
  const results = new Map<string, LineResult>();
  for (const [k, line] of lines.entries()) {
    const bitFlipRecovery = await measureBitFlipRecovery(line.stack, line.flipper, config.faultInjections);
    results.set(line.kind, { ...recorders[k]!.result(), bitFlipRecovery, faultInjection: line.faultInjection });
  }
  return results;
}

function ratios(pty: RoundTrips, memory: RoundTrips): Record<keyof RoundTrips, { median: number; p99: number }> {
  const r = (k: keyof RoundTrips) => ({ median: round(pty[k].medianMs / memory[k].medianMs, 2), p99: round(pty[k].p99Ms / memory[k].p99Ms, 2) });
  return { select: r('select'), verifyPin1: r('verifyPin1'), signWithPin2: r('signWithPin2') };
}

export async function runCardLinkBench(config = readCardLinkBenchConfig()): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'hg-bench-'));
  try {
    const image = await personalizedImage(dir);
    const lines: OpenLine[] = [];
    let results: Map<string, LineResult>;
    try {
      lines.push(await openLine('memory', await copyImage(image, 'memory'), config.seed));
      if (socatInstalled()) lines.push(await openLine('pty', await copyImage(image, 'pty'), config.seed));
      results = await measureLines(lines, config);
    } finally {
      for (const line of lines) await line.close();
    }
    const memory = results.get('memory')!;
    const pty = results.get('pty');
    return {
      benchmark: 'card link: APDU round trips, framing efficiency, recovery from a flipped bit',
      environment: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: availableParallelism(), loadavg1m: round(loadavg()[0]!, 2) },
      config: { ...config, t1: { edc: 'lrc', ifsc: 32, ifsd: 32, bwtMs: 1500 }, store: 'card image file, fsync per commit, on both lines' },
      memory,
      pty: pty ?? { skipped: 'socat not installed' },
      ratioPtyToMemory: pty ? ratios(pty.latency, memory.latency) : { skipped: 'socat not installed' },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
