/**
 * Per-terminal delay between PIN tries. The card's retry counter limits a
 * PIN to a few wrong tries in total; this slows down one terminal that keeps
 * guessing (a stolen laptop with a script) before it burns the household's
 * tries, and gives the log time to be noticed.
 *
 * Each wrong try of one PIN from one terminal doubles the wait before that
 * terminal may try that PIN again: first `baseDelayMs`, then 2×, 4×, … up to
 * `maxDelayMs`. A right PIN clears it. A try refused by the throttle never
 * reaches the card and so costs no try. State is in memory: a restart of the
 * gateway forgets delays but never the card's counter.
 */
import { CardSessionError } from './card-session-error.js';

export type ThrottledPin = 'PIN1' | 'PIN2';

export interface PinThrottleOptions {
  /** The wait after the first wrong try, in ms. 0 turns the delay off. Default 1000. */
  baseDelayMs?: number;
  /** The longest wait, in ms. Default 300000 (5 min). */
  maxDelayMs?: number;
  /** Unix ms. Default Date.now. */
  clock?: () => number;
}

interface Failures {
  count: number;
  /** No try of this PIN from this terminal before this instant. */
  notBefore: number;
}

export class PinThrottle {
  private readonly failures = new Map<string, Failures>();
  private readonly base: number;
  private readonly max: number;
  private readonly clock: () => number;

  constructor(o: PinThrottleOptions = {}) {
    this.base = o.baseDelayMs ?? 1000;
    this.max = Math.max(o.maxDelayMs ?? 300_000, this.base);
    this.clock = o.clock ?? Date.now;
  }

  /** Throws CardSessionError pin-throttled (with `retryAfterMs`) while this terminal must wait. */
  check(terminalId: string, pin: ThrottledPin): void {
    const f = this.failures.get(key(terminalId, pin));
    const wait = f ? f.notBefore - this.clock() : 0;
    if (wait > 0) {
      throw new CardSessionError('pin-throttled', `Too many wrong ${pin} tries from this terminal: wait ${Math.ceil(wait / 1000)} s before the next`, {
        pin,
        retryAfterMs: wait,
      });
    }
  }

  /** Count a wrong try; returns the wait before the next try, in ms. */
  failed(terminalId: string, pin: ThrottledPin): number {
    const k = key(terminalId, pin);
    const count = (this.failures.get(k)?.count ?? 0) + 1;
    const delay = Math.min(this.max, this.base * 2 ** Math.min(count - 1, 30));
    this.failures.set(k, { count, notBefore: this.clock() + delay });
    return delay;
  }

  /** The right PIN was typed: this terminal tries that PIN freely again. */
  succeeded(terminalId: string, pin: ThrottledPin): void {
    this.failures.delete(key(terminalId, pin));
  }

  /** Forget a terminal (revoked). */
  forget(terminalId: string): void {
    this.failures.delete(key(terminalId, 'PIN1'));
    this.failures.delete(key(terminalId, 'PIN2'));
  }
}

function key(terminalId: string, pin: ThrottledPin): string {
  return `${pin}\u0000${terminalId}`;
}
