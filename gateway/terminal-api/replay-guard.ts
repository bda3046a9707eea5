/**
 * Remembers the nonces of accepted signed requests for as long as their `iat`
 * could still be accepted, so each signed body is accepted once (API.md:
 * "the nonce was not seen within the window", 409 request-replayed).
 *
 * Memory is bounded. Expired entries are pruned by a full scan at most every
 * `pruneIntervalMs` (and whenever the map is full). If the map is still full
 * of live nonces (a flood), the oldest *inserted* entry is evicted and its
 * expiry raises a floor: any request whose own expiry is at or below the floor
 * is refused as 'too-old'. Every evicted nonce is below the floor, so its
 * replay stays refused; the price of a flood is that some genuine requests
 * with older `iat` must be re-signed, never that a replay gets through.
 *
 * In memory only: the verifier refuses any `iat` from before the gateway
 * started, which covers the nonces forgotten by a restart.
 */
export interface ReplayGuardOptions {
  /** Most nonces remembered. Default 100 000 (a few MB with 150-byte keys). */
  maxEntries?: number;
  /** Milliseconds between full prune scans while not full. Default 10 000. */
  pruneIntervalMs?: number;
  /** Milliseconds since the epoch. Default Date.now. */
  clock?: () => number;
}

/** 'fresh' means recorded now; the others mean refuse. */
export type ReplayVerdict = 'fresh' | 'replayed' | 'too-old';

export class ReplayGuard {
  readonly #maxEntries: number;
  readonly #pruneIntervalMs: number;
  readonly #clock: () => number;
  /** key → expiry (ms). Insertion order is what eviction follows. */
  readonly #seen = new Map<string, number>();
  #floor = -Infinity;
  #lastPrune = -Infinity;

  constructor(options: ReplayGuardOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#pruneIntervalMs = options.pruneIntervalMs ?? 10_000;
    this.#clock = options.clock ?? Date.now;
    if (!Number.isInteger(this.#maxEntries) || this.#maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.#seen.size;
  }

  /**
   * Check `key` (terminal id and nonce) and record it when fresh. `expiresAt`
   * is when the request's `iat` leaves the acceptance window; after that a
   * replay is refused by the time check anyway, so the nonce can be forgotten.
   */
  check(key: string, expiresAt: number): ReplayVerdict {
    const now = this.#clock();
    if (expiresAt <= now || expiresAt <= this.#floor) return 'too-old';
    const known = this.#seen.get(key);
    if (known !== undefined && known > now) return 'replayed';
    this.#seen.delete(key); // an expired leftover: re-insert at the end
    this.#makeRoom(now);
    this.#seen.set(key, expiresAt);
    return 'fresh';
  }

  #makeRoom(now: number): void {
    if (this.#seen.size >= this.#maxEntries || now - this.#lastPrune >= this.#pruneIntervalMs) {
      this.#lastPrune = now;
      for (const [key, expiry] of this.#seen) if (expiry <= now) this.#seen.delete(key);
    }
    while (this.#seen.size >= this.#maxEntries) {
      const [key, expiry] = this.#seen.entries().next().value as [string, number];
      this.#seen.delete(key);
      this.#floor = Math.max(this.#floor, expiry);
    }
  }
}
