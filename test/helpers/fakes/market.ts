/**
 * A market's payment API in memory, installed in place of the manager's
 * HTTPS client (MarketPayments): orders it states, decisions presented to
 * it, cancel authorizations it signs with its signing certificate. Failures
 * are PeerErrors like the real client throws.
 */
import type { KeyObject } from 'node:crypto';
import { parseSignedCancelRequest } from '../../../card-io/home-card/cancel-request.js';
import { parseSignedRecord } from '../../../card-io/home-card/decision-record.js';
import { encodeCancelAuthorization, signAuthorization } from '../../../card-io/home-card/purse-authorizations.js';
import type { MarketOrder, MarketPayments } from '../../../gateway/emoney/market-payments.js';
import { PeerError } from '../../../gateway/emoney/https-json.js';

export class FakeMarket {
  readonly orders = new Map<string, MarketOrder>();
  /** Every call, e.g. "order o-1", "present o-1", "cancel o-1". */
  readonly calls: string[] = [];
  /** Set to make present() fail with this error (a refusal, or the market down). */
  presentFails: PeerError | undefined;
  readonly presented: string[] = [];

  constructor(private readonly signer: { certificate: Buffer; privateKey: KeyObject }) {}

  open(orderId: string, amount: number, currency = 'EUR'): void {
    this.orders.set(orderId, { orderId, amount, currency, status: 'open' });
  }

  /** Replace the manager's market client with this market. */
  install(payments: MarketPayments): void {
    Object.assign(payments, {
      order: async (_m: unknown, orderId: string) => this.order(orderId),
      present: async (_m: unknown, bytes: Buffer) => this.present(bytes),
      cancelAuthorization: async (_m: unknown, orderId: string, request: Buffer) => this.cancelAuthorization(orderId, request),
    });
  }

  async order(orderId: string): Promise<MarketOrder> {
    this.calls.push(`order ${orderId}`);
    const o = this.orders.get(orderId);
    if (!o) throw new PeerError('refused', `no order ${orderId}`, 404, 'order-unknown');
    return { ...o };
  }

  async present(bytes: Buffer): Promise<{ orderId: string; status: string }> {
    const r = parseSignedRecord(bytes);
    this.calls.push(`present ${r.orderId}`);
    if (this.presentFails) throw this.presentFails;
    this.presented.push(r.orderId);
    const o = this.orders.get(r.orderId);
    if (o) o.status = 'paid';
    return { orderId: r.orderId, status: 'paid' };
  }

  async cancelAuthorization(orderId: string, request: Buffer) {
    this.calls.push(`cancel ${orderId}`);
    const r = parseSignedCancelRequest(request);
    const authorization = encodeCancelAuthorization({ cardId: r.cardId, seq: r.seq, orderId: r.orderId, amount: r.amount, currency: r.currency });
    const o = this.orders.get(orderId);
    if (o) o.status = 'cancelled';
    return { authorization, signature: signAuthorization(authorization, this.signer.privateKey), certificate: this.signer.certificate };
  }
}
