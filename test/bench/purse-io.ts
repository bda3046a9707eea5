/**
 * Small measuring helpers for the purse benchmark: this process's disk
 * writes from /proc/self/io, file sizes, and summaries of samples.
 */
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { percentile, round } from './bench-stats.js';

/**
 * `write_bytes` of /proc/self/io: bytes this process (all its threads, so
 * libuv's file-system pool too) caused to be written to the storage layer,
 * counted when pages are dirtied, so whole 4 KiB pages; pipes, sockets and
 * tmpfs do not count. Null where there is no /proc (not Linux).
 */
export function readWriteBytes(): number | null {
  try {
    const match = /^write_bytes:\s*(\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Size of a file in bytes, or null when it does not exist. */
export async function fileBytes(path: string): Promise<number | null> {
  return stat(path).then(
    (s) => s.size,
    () => null,
  );
}

export interface ValueSummary {
  n: number;
  median: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/** Nearest-rank median and p99 (with n < 100, p99 is the maximum), mean, min, max. */
export function summarizeValues(values: readonly number[], digits = 3): ValueSummary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / (sorted.length || 1);
  return {
    n: sorted.length,
    median: round(percentile(sorted, 50), digits),
    p99: round(percentile(sorted, 99), digits),
    mean: round(mean, digits),
    min: round(sorted[0] ?? NaN, digits),
    max: round(sorted.at(-1) ?? NaN, digits),
  };
}

/** Milliseconds between two process.hrtime.bigint() readings. */
export function msBetween(from: bigint, to: bigint): number {
  return Number(to - from) / 1e6;
}
