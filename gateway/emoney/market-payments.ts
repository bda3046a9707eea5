/**
 * The gateway's client for a market's payment API (PAYMENTS.md): read an
 * order, present a signed decision, ask for a cancel authorization. The
 * market is verified against its registered anchor; no client certificate:
 * a payment proves itself with the card's signature.
 */
import type { MarketRecord } from '../registry/index.js';
import { marketServername } from '../proxy/market-target.js';
import { httpsJson, PeerError } from './https-json.js';
import { cancelAuthorizationSchema, marketOrderSchema, presentAnswerSchema } from './peer-answers.js';

export interface MarketOrder {
  orderId: string;
  amount: number;
  currency: string;
  status: 'open' | 'paid' | 'cancelled';
}

export interface CancelAuthorizationAnswer {
  authorization: Buffer;
  signature: Buffer;
  certificate: Buffer;
}

export class MarketPayments {
  constructor(private readonly timeoutMs = 5000) {}

  private url(m: MarketRecord, path: string): string {
    return new URL(path, m.url).href;
  }

  async order(m: MarketRecord, orderId: string): Promise<MarketOrder> {
    const order = await httpsJson({
      url: this.url(m, `/payment-api/orders/${encodeURIComponent(orderId)}`),
      method: 'GET',
      ca: m.anchorPem,
      servername: servername(m),
      timeoutMs: this.timeoutMs,
      schema: marketOrderSchema,
    });
    // An answer about another order must not be paid for this one.
    if (order.orderId !== orderId) throw new PeerError('bad-answer', `${m.name} answered for another order`, 200);
    return order;
  }

  async present(m: MarketRecord, signedRecord: Buffer, cardCertificate: Buffer): Promise<{ orderId?: string; status?: string }> {
    return httpsJson({
      url: this.url(m, '/payment-api/payments'),
      method: 'POST',
      body: { signedRecord: signedRecord.toString('base64'), cardCertificate: cardCertificate.toString('base64') },
      ca: m.anchorPem,
      servername: servername(m),
      timeoutMs: this.timeoutMs,
      schema: presentAnswerSchema,
    });
  }

  /**
   * The market's signed cancel authorization for the decision the card's
   * signed cancel request (E3 ‖ DF5E, SIGN CANCEL REQUEST) names; the market
   * verifies it with the card certificate.
   */
  async cancelAuthorization(m: MarketRecord, orderId: string, cancelRequest: Buffer, cardCertificate: Buffer): Promise<CancelAuthorizationAnswer> {
    const r = await httpsJson({
      url: this.url(m, `/payment-api/orders/${encodeURIComponent(orderId)}/cancel`),
      method: 'POST',
      body: { cancelRequest: cancelRequest.toString('base64'), cardCertificate: cardCertificate.toString('base64') },
      ca: m.anchorPem,
      servername: servername(m),
      timeoutMs: this.timeoutMs,
      schema: cancelAuthorizationSchema,
    });
    return {
      authorization: Buffer.from(r.authorization, 'base64'),
      signature: Buffer.from(r.signature, 'base64'),
      certificate: Buffer.from(r.certificate, 'base64'),
    };
  }
}

export function servername(m: MarketRecord): string {
  return marketServername(m.host);
}
