/**
 * The sandbox market's orders, in memory, one book per market instance (a
 * restart forgets them). An order moves open → paid → cancelled and never
 * back (PAYMENTS.md); the book keeps what made each step, so presenting the
 * same record or asking for the same cancel authorization again answers the
 * same.
 */
import { randomBytes } from 'node:crypto';
import type { CatalogueItem } from './catalogue.js';

export type OrderStatus = 'open' | 'paid' | 'cancelled';

/** What paid the order: the card's signed decision record. */
export interface OrderPayment {
  seq: number;
  /** 16 lower-case hex digits. */
  cardId: string;
  /** The record bytes (value of E1): a re-presentation is recognised by them. */
  recordBytes: Buffer;
  /** E1 ‖ DF5E as presented. */
  signedRecord: Buffer;
  /** The paying card's public key (SPKI DER): only that card may ask to cancel. */
  cardKey: Buffer;
}

/** The market's signed cancel authorization (PROTOCOL.md, CANCEL), as answered. */
export interface OrderCancellation {
  authorization: Buffer;
  signature: Buffer;
  certificate: Buffer;
}

export interface Order {
  readonly orderId: string;
  readonly item: string;
  readonly quantity: number;
  /** price × quantity, minor units of `currency`. */
  readonly amount: number;
  readonly currency: string;
  readonly createdAt: Date;
  status: OrderStatus;
  payment?: OrderPayment;
  cancellation?: OrderCancellation;
}

/** The JSON of `GET /payment-api/orders/<orderId>`. */
export interface OrderView {
  orderId: string;
  amount: number;
  currency: string;
  status: OrderStatus;
  seq?: number;
  cardId?: string;
}

export function orderView(o: Order): OrderView {
  const view: OrderView = { orderId: o.orderId, amount: o.amount, currency: o.currency, status: o.status };
  if (o.payment) Object.assign(view, { seq: o.payment.seq, cardId: o.payment.cardId });
  return view;
}

export class OrderBook {
  private readonly orders = new Map<string, Order>();
  /**
   * Refunds of decisions this market did not accept (refused or never
   * presented), by `<cardId>:<seq>`: such a record is never accepted after
   * its refund, and asking again answers the same authorization.
   */
  private readonly refunds = new Map<string, OrderCancellation>();

  refund(cardId: string, seq: number): OrderCancellation | undefined {
    return this.refunds.get(`${cardId}:${seq}`);
  }

  markRefunded(cardId: string, seq: number, cancellation: OrderCancellation): void {
    this.refunds.set(`${cardId}:${seq}`, cancellation);
  }

  constructor(private readonly clock: () => Date = () => new Date()) {}

  /** A new open order; the caller has checked `quantity` (a positive integer) and that price × quantity is a safe integer. */
  create(item: CatalogueItem, quantity: number): Order {
    // 'ord-' + 24 hex digits: well inside the card's 64-byte order id (PROTOCOL.md, DF52).
    const orderId = `ord-${randomBytes(12).toString('hex')}`;
    const order: Order = {
      orderId,
      item: item.id,
      quantity,
      amount: item.price * quantity,
      currency: item.currency,
      createdAt: this.clock(),
      status: 'open',
    };
    this.orders.set(orderId, order);
    return order;
  }

  get(orderId: string): Order | undefined {
    return this.orders.get(orderId);
  }

  /** open → paid. The caller has checked that the order is open. */
  markPaid(order: Order, payment: OrderPayment): void {
    order.status = 'paid';
    order.payment = payment;
  }

  /** paid → cancelled. The caller has checked that the order is paid. */
  markCancelled(order: Order, cancellation: OrderCancellation): void {
    order.status = 'cancelled';
    order.cancellation = cancellation;
  }
}
