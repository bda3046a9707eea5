/**
 * The market's order and payment routes (gateway/emoney/PAYMENTS.md):
 *
 * - `POST /orders` (client certificate required, checked by the dispatcher):
 *   a new open order for a catalogue item, amount = price × quantity;
 * - `GET  /payment-api/orders/<orderId>`: the order;
 * - `POST /payment-api/payments`: a signed decision record pays its order;
 * - `POST /payment-api/orders/<orderId>/cancel`: the market's signed cancel
 *   authorization (PROTOCOL.md, CANCEL) for a decision the card asks to
 *   cancel with its signed cancel request: a paid order is cancelled; a
 *   decision the market did not accept (refused, or never presented) is
 *   refunded and never accepted afterwards.
 *
 * The `/payment-api/` routes need no client certificate: a payment proves
 * itself with the card's signature, and so does a cancel request (the
 * card's signature, verified with the card certificate: for a paid order,
 * the key that paid it).
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { encodeCancelAuthorization, signAuthorization } from '../../../card-io/home-card/purse-authorizations.js';
import { HttpError, base64Field, integerField, readJsonObject, stringField, type JsonRoute } from '../http-json.js';
import type { Catalogue } from './catalogue.js';
import { orderView, type Order, type OrderBook } from './order-book.js';
import type { MarketLogger } from './options.js';
import { checkRecordForMarket, trustedCardKey, verifiedCancelRequest, verifiedRecord } from './payment-verifier.js';

/** Where the market's payment API lives; every other route needs a verified client certificate. */
export const PAYMENT_API_PREFIX = '/payment-api/';

/** Most items one order may hold. */
export const MAX_QUANTITY = 1000;

export interface PaymentContext {
  catalogue: Catalogue;
  orders: OrderBook;
  /** The name records must carry (DF51): the first dNSName of the market's server certificate. */
  serverName: string;
  /** The issuer CAs card certificates must chain to (the market's clientCa). */
  issuerCas: readonly X509Certificate[];
  /** Signs cancel authorizations; its certificate (DER) is issued by the market CA. Without it there is no payment API. */
  signer: { certificate: Buffer; privateKey: KeyObject } | undefined;
  logger: MarketLogger | undefined;
  clock: () => Date;
}

function orderOrThrow(ctx: PaymentContext, orderId: string): Order {
  const order = ctx.orders.get(orderId);
  if (order === undefined) throw new HttpError(404, 'order-unknown', `No order ${orderId}`);
  return order;
}

function withSigner(ctx: PaymentContext): NonNullable<PaymentContext['signer']> {
  if (ctx.signer === undefined) throw new HttpError(404, 'not-found', 'This market has no payment API (no signer configured)');
  return ctx.signer;
}

async function createOrder(ctx: PaymentContext, body: Record<string, unknown>): Promise<unknown> {
  const itemId = stringField(body, 'item', 64);
  const quantity = body.quantity === undefined ? 1 : integerField(body, 'quantity', 1, MAX_QUANTITY);
  const item = ctx.catalogue.items.find((i) => i.id === itemId);
  if (item === undefined) throw new HttpError(404, 'item-unknown', `No item ${itemId} in the catalogue`);
  if (!Number.isSafeInteger(item.price * quantity)) throw new HttpError(400, 'bad-request', 'The order amount is too large');
  const order = ctx.orders.create(item, quantity);
  ctx.logger?.info({ orderId: order.orderId, item: item.id, quantity, amount: order.amount }, 'order created');
  return { orderId: order.orderId, item: order.item, amount: order.amount, currency: order.currency, status: order.status };
}

async function presentPayment(ctx: PaymentContext, body: Record<string, unknown>): Promise<unknown> {
  withSigner(ctx);
  const signedRecord = base64Field(body, 'signedRecord');
  const cardCertificate = base64Field(body, 'cardCertificate');
  const cardKey = trustedCardKey(cardCertificate, ctx.issuerCas, ctx.clock());
  const record = verifiedRecord(signedRecord, cardKey);
  checkRecordForMarket(record, ctx.serverName);
  const order = orderOrThrow(ctx, record.orderId);
  if (BigInt(record.amount) !== BigInt(order.amount) || record.currency !== order.currency) {
    throw new HttpError(422, 'record-mismatch', `The record pays ${record.amount} ${record.currency}, the order is ${order.amount} ${order.currency}`);
  }
  if (order.status === 'paid' && order.payment?.recordBytes.equals(record.recordBytes)) {
    return { orderId: order.orderId, status: 'paid' }; // the same decision presented again
  }
  if (ctx.orders.refund(record.cardId, record.seq)) throw new HttpError(409, 'record-refunded', `Decision ${record.seq} of card ${record.cardId} was refunded`);
  if (order.status !== 'open') throw new HttpError(409, 'order-not-open', `Order ${order.orderId} is ${order.status}`);
  const spki = cardKey.export({ type: 'spki', format: 'der' });
  ctx.orders.markPaid(order, { seq: record.seq, cardId: record.cardId, recordBytes: record.recordBytes, signedRecord, cardKey: spki });
  ctx.logger?.info({ orderId: order.orderId, seq: record.seq, cardId: record.cardId, amount: order.amount }, 'order paid');
  return { orderId: order.orderId, status: 'paid' };
}

/**
 * Only the card that made the decision may ask: its signed cancel request
 * verifies with a card certificate the market trusts and, for a paid order,
 * with the key that paid it. A decision that did not pay the order (the
 * market refused it or never saw it) is refunded: the money is on no order
 * here, so it goes back to the card, and the record is never accepted later.
 */
async function cancelOrder(ctx: PaymentContext, orderId: string, body: Record<string, unknown>): Promise<unknown> {
  const signer = withSigner(ctx);
  const requestBytes = base64Field(body, 'cancelRequest');
  const cardKey = trustedCardKey(base64Field(body, 'cardCertificate'), ctx.issuerCas, ctx.clock());
  const request = verifiedCancelRequest(requestBytes, cardKey);
  if (request.market.toLowerCase() !== ctx.serverName.toLowerCase() || request.orderId !== orderId) {
    throw new HttpError(422, 'request-mismatch', `The cancel request is for order ${request.orderId} at ${request.market}`);
  }
  const { cardId, seq } = request;
  const order = ctx.orders.get(orderId);
  const payment = order?.payment;
  if (order && payment && payment.cardId === cardId && payment.seq === seq) {
    if (!payment.cardKey.equals(cardKey.export({ type: 'spki', format: 'der' }))) {
      throw new HttpError(403, 'not-the-payer', `Order ${orderId} was paid by another card key`);
    }
    if (order.status === 'cancelled' && order.cancellation) return cancellationJson(order.cancellation);
    const cancellation = sign(signer, { cardId, seq, orderId, amount: order.amount, currency: order.currency });
    ctx.orders.markCancelled(order, cancellation);
    ctx.logger?.info({ orderId, seq, cardId, amount: order.amount }, 'order cancelled');
    return cancellationJson(cancellation);
  }
  const earlier = ctx.orders.refund(cardId, seq);
  if (earlier) return cancellationJson(earlier);
  const cancellation = sign(signer, { cardId, seq, orderId, amount: request.amount, currency: request.currency });
  ctx.orders.markRefunded(cardId, seq, cancellation);
  ctx.logger?.info({ orderId, seq, cardId, amount: Number(request.amount) }, 'decision not accepted here refunded');
  return cancellationJson(cancellation);
}

function sign(signer: NonNullable<PaymentContext['signer']>, fields: Parameters<typeof encodeCancelAuthorization>[0]) {
  const authorization = encodeCancelAuthorization(fields);
  return { authorization, signature: signAuthorization(authorization, signer.privateKey), certificate: signer.certificate };
}

function cancellationJson(c: { authorization: Buffer; signature: Buffer; certificate: Buffer }): unknown {
  return { authorization: c.authorization.toString('base64'), signature: c.signature.toString('base64'), certificate: c.certificate.toString('base64') };
}

export function paymentRoutes(ctx: PaymentContext): JsonRoute[] {
  return [
    { method: 'POST', pattern: /^\/orders$/, handler: async (req) => createOrder(ctx, await readJsonObject(req)) },
    {
      method: 'GET',
      pattern: /^\/payment-api\/orders\/([^/]+)$/,
      handler: (_req, [orderId]) => {
        withSigner(ctx);
        return orderView(orderOrThrow(ctx, orderId!));
      },
    },
    { method: 'POST', pattern: /^\/payment-api\/payments$/, handler: async (req) => presentPayment(ctx, await readJsonObject(req)) },
    {
      method: 'POST',
      pattern: /^\/payment-api\/orders\/([^/]+)\/cancel$/,
      handler: async (req, [orderId]) => cancelOrder(ctx, orderId!, await readJsonObject(req)),
    },
  ];
}
