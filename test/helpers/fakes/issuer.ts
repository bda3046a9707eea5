/**
 * An issuer in memory with the sandbox issuer's contract (PAYMENTS.md):
 * reserve funds against the card's challenge, commit on the card's signed
 * receipt, void a reservation the card never loaded.
 */
import type { KeyObject } from 'node:crypto';
import { encodeLoadAuthorization, signAuthorization } from '../../../card-io/home-card/purse-authorizations.js';
import { parseLoadReceipt, verifyLoadReceipt } from '../../../card-io/home-card/load-receipt.js';
import type { IssuerClient, LoadReservation } from '../../../gateway/emoney/issuer-client.js';

export class ReservingIssuer {
  readonly reservations = new Map<string, { amount: number; status: 'reserved' | 'committed' | 'voided'; challenge: Buffer }>();
  readonly calls: string[] = [];
  balance = 1_000_000;
  /** Set to make commitLoad fail with this error (the issuer down, or a final refusal). */
  commitFails: Error | undefined;
  constructor(
    private readonly loadKey: KeyObject,
    private readonly cardKey: KeyObject,
  ) {}

  /** As the gateway's IssuerClient. */
  get client(): IssuerClient {
    return this as unknown as IssuerClient;
  }

  async requestLoad(p: { cardId: string; amount: number; currency: string; challenge: Buffer }): Promise<LoadReservation> {
    this.calls.push('reserve');
    const id = `load-${this.reservations.size + 1}`;
    this.reservations.set(id, { amount: p.amount, status: 'reserved', challenge: p.challenge });
    const authorization = encodeLoadAuthorization(p);
    return { id, authorization, signature: signAuthorization(authorization, this.loadKey) };
  }

  async commitLoad(id: string, receipt: Buffer): Promise<void> {
    this.calls.push(`commit ${id}`);
    if (this.commitFails) throw this.commitFails;
    const r = this.reservations.get(id)!;
    const parsed = parseLoadReceipt(receipt);
    if (!verifyLoadReceipt(parsed, this.cardKey) || !parsed.challenge.equals(r.challenge)) throw new Error('receipt-invalid');
    if (r.status === 'committed') return;
    if (r.status !== 'reserved') throw new Error('load-released');
    r.status = 'committed';
    this.balance -= r.amount;
  }

  async voidLoad(id: string): Promise<void> {
    this.calls.push(`void ${id}`);
    const r = this.reservations.get(id)!;
    if (r.status === 'committed') throw new Error('load-committed');
    r.status = 'voided';
  }

  statuses(): string[] {
    return [...this.reservations.values()].map((r) => r.status);
  }
}
