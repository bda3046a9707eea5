/**
 * The gateway's pending pairing codes, in memory only: a code is good for one
 * pairing within its lifetime (10 minutes), and a restart forgets every
 * pending code (ask for a new one), which is the safe direction.
 *
 * Guessing is bounded twice: a code whose proof fails `maxFailuresPerCode`
 * times is burnt, and while `maxFailures` attempts (any code, known or not)
 * failed within `windowMs`, every attempt is refused as throttled, even a
 * right one: a 128-bit secret is not guessable, but the id is shorter and an
 * attacker hammering the endpoint should cost nothing but its own time.
 *
 * The proof is compared with timingSafeEqual, so its timing says nothing
 * about how many leading bytes were right.
 */
import { timingSafeEqual } from 'node:crypto';
import { type PairingCode, pairingProof } from './pairing-code.js';
import { PairingError } from './pairing-error.js';

export interface PendingPairing {
  name: string;
  mail: string;
  expiresAt: number;
}

export interface PendingCodesOptions {
  /** Unix ms. Default Date.now. */
  clock?: () => number;
  /** A code's lifetime in ms. Default 600000 (10 minutes). */
  ttlMs?: number;
  /** Wrong proofs before a code is burnt. Default 3. */
  maxFailuresPerCode?: number;
  /** Failed attempts of any code within the window before every attempt is refused. Default 10. */
  maxFailures?: number;
  /** That window in ms. Default 600000. */
  windowMs?: number;
}

interface Entry extends PendingPairing {
  code: PairingCode;
  failures: number;
}

export class PendingCodes {
  private readonly codes = new Map<string, Entry>();
  private failedAt: number[] = [];
  private readonly clock: () => number;
  private readonly ttlMs: number;
  private readonly maxFailuresPerCode: number;
  private readonly maxFailures: number;
  private readonly windowMs: number;

  constructor(o: PendingCodesOptions = {}) {
    this.clock = o.clock ?? Date.now;
    this.ttlMs = o.ttlMs ?? 600_000;
    this.maxFailuresPerCode = o.maxFailuresPerCode ?? 3;
    this.maxFailures = o.maxFailures ?? 10;
    this.windowMs = o.windowMs ?? 600_000;
  }

  add(code: PairingCode, name: string, mail: string): PendingPairing {
    this.sweep();
    const entry: Entry = { code, name, mail, expiresAt: this.clock() + this.ttlMs, failures: 0 };
    this.codes.set(code.id.toString('hex'), entry);
    return { name, mail, expiresAt: entry.expiresAt };
  }

  /**
   * The pending pairing for `id` when `proof` is right; the code is taken
   * (single use). Give it back with `restore` when the pairing then fails
   * for a reason that is not the terminal's doing (e.g. a disk error).
   */
  take(id: Buffer, proof: Buffer, csrDer: Uint8Array): PendingPairing & { code: PairingCode } {
    this.sweep();
    if (this.failedAt.length >= this.maxFailures) {
      throw new PairingError('pairing-throttled', 'Too many failed pairing attempts; wait a few minutes, then ask the gateway for a new code');
    }
    const key = id.toString('hex');
    const entry = this.codes.get(key);
    const expected = entry ? pairingProof(entry.code, csrDer) : undefined;
    if (!entry || !expected || proof.length !== expected.length || !timingSafeEqual(proof, expected)) {
      this.failedAt.push(this.clock());
      if (entry && ++entry.failures >= this.maxFailuresPerCode) this.codes.delete(key);
      throw new PairingError('pairing-refused', 'This pairing code is wrong, expired or already used; ask the gateway for a new one');
    }
    this.codes.delete(key);
    return { code: entry.code, name: entry.name, mail: entry.mail, expiresAt: entry.expiresAt };
  }

  restore(p: PendingPairing & { code: PairingCode }): void {
    if (p.expiresAt > this.clock()) this.codes.set(p.code.id.toString('hex'), { ...p, failures: 0 });
  }

  /** How many codes are pending (for tests and status). */
  get size(): number {
    this.sweep();
    return this.codes.size;
  }

  private sweep(): void {
    const now = this.clock();
    for (const [k, e] of this.codes) if (e.expiresAt <= now) this.codes.delete(k);
    this.failedAt = this.failedAt.filter((t) => t > now - this.windowMs);
  }
}
