/** Latency figures for the card-link benchmark: nearest-rank median and p99, in ms. */
export interface LatencySummary {
  n: number;
  medianMs: number;
  p99Ms: number;
}

export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/** Nearest-rank percentile of sorted values, p in (0, 100]. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, medianMs: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)) };
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}
