/**
 * The delay before the next reconnect attempt to the broker: exponential
 * (base · 2^attempts) up to a cap, drawn at random between half and all of
 * it ("equal jitter", as in AWS's "Exponential Backoff And Jitter"), so the
 * clients of a restarted broker do not come back in one wave, and a broker
 * that stays down costs one attempt per cap, not a busy loop.
 */
export interface ReconnectBackoff {
  /** First delay, ms. */
  baseMs: number;
  /** Upper bound, ms. */
  maxMs: number;
}

/** `attempts`: failed attempts since the last successful connect (0 for the first retry). */
export function reconnectDelay(attempts: number, backoff: ReconnectBackoff, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempts, 30));
  return Math.max(1, Math.round(ceiling / 2 + random() * (ceiling / 2)));
}
