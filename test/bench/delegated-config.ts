/**
 * Iteration counts of the delegated-path benchmark, from the environment.
 * The defaults finish the whole benchmark in well under 90 s on a small
 * machine; raise them for steadier figures.
 *
 *   BENCH_DELEGATED_LATENCY_N      connections per path for the latency figures (default 50)
 *   BENCH_DELEGATED_WARMUP         unmeasured connections per path first (default 5)
 *   BENCH_DELEGATED_SECONDS        duration of each throughput level in s (default 3)
 *   BENCH_DELEGATED_CONCURRENCY    concurrent terminals per level, comma-separated (default 1,8,32)
 *   BENCH_DELEGATED_CARD_OPS_N     authorizations per card-operation count (default 20)
 *   BENCH_DELEGATED_RSS_SAMPLE_MS  RSS sampling interval under load in ms (default 100)
 *   BENCH_DELEGATED_STAGES_N       authorizations traced for the per-stage breakdown (default 40)
 *   BENCH_DELEGATED_KEEP_DATA      1: keep the temporary data directory (its path is in the output)
 *   BENCH_DELEGATED_CARD_LINE      socket (default): the card behind a virtual socket, T=1 from its ATR (IFSC 254);
 *                                  bare: on a bare line, T=1 defaults (IFSC 32); both: socket, then the reuse-off
 *                                  figures and stages again on a bare line, in the same run
 */
export interface DelegatedBenchConfig {
  latencyIterations: number;
  warmup: number;
  throughputSeconds: number;
  concurrency: number[];
  cardOpsIterations: number;
  rssSampleMs: number;
  stagesIterations: number;
  keepData: boolean;
  /** The card line of the main figures, and whether to measure a bare line too. */
  cardLine: 'socket' | 'bare';
  compareBareLine: boolean;
}

function int(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer ${min}..${max}, got ${JSON.stringify(raw)}`);
  return n;
}

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new Error(`${name} must be a number of seconds in (0, 3600], got ${JSON.stringify(raw)}`);
  return n;
}

function intList(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || !list.every((n) => Number.isInteger(n) && n >= 1 && n <= 256)) {
    throw new Error(`${name} must be a comma-separated list of integers 1..256, got ${JSON.stringify(raw)}`);
  }
  return list;
}

function cardLine(): { cardLine: 'socket' | 'bare'; compareBareLine: boolean } {
  const raw = process.env.BENCH_DELEGATED_CARD_LINE ?? 'socket';
  if (raw === 'socket' || raw === '') return { cardLine: 'socket', compareBareLine: false };
  if (raw === 'bare') return { cardLine: 'bare', compareBareLine: false };
  if (raw === 'both') return { cardLine: 'socket', compareBareLine: true };
  throw new Error(`BENCH_DELEGATED_CARD_LINE must be socket, bare or both, got ${JSON.stringify(raw)}`);
}

export function readDelegatedBenchConfig(): DelegatedBenchConfig {
  return {
    latencyIterations: int('BENCH_DELEGATED_LATENCY_N', 50, 1, 100_000),
    warmup: int('BENCH_DELEGATED_WARMUP', 5, 0, 10_000),
    throughputSeconds: positiveNumber('BENCH_DELEGATED_SECONDS', 3),
    concurrency: intList('BENCH_DELEGATED_CONCURRENCY', [1, 8, 32]),
    cardOpsIterations: int('BENCH_DELEGATED_CARD_OPS_N', 20, 1, 100_000),
    rssSampleMs: int('BENCH_DELEGATED_RSS_SAMPLE_MS', 100, 10, 60_000),
    stagesIterations: int('BENCH_DELEGATED_STAGES_N', 40, 1, 100_000),
    keepData: process.env.BENCH_DELEGATED_KEEP_DATA === '1',
    ...cardLine(),
  };
}
