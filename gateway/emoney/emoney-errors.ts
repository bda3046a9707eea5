/**
 * Card, market and proxy failures of the e-money manager, as terminal API
 * errors (API.md): a clear code, and never a PIN or key in the message.
 */
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import { pinError, type CardSessions } from '../card/card-sessions.js';
import { isProxyError } from '../proxy/index.js';
import { ApiError } from '../terminal-api/api-error.js';
import { PeerError } from './https-json.js';

/** Run `fn` with the card in this terminal's card session; the card is handed back afterwards. */
export async function withCard<T>(sessions: CardSessions, terminalId: string, fn: (card: HomeCard) => Promise<T>): Promise<T> {
  const lease = await sessions.lease(terminalId);
  try {
    return await fn(lease.card);
  } finally {
    lease.release();
  }
}

export function toEmoneyError(e: unknown, operation: 'pay' | 'cancel' | 'topup' = 'pay'): unknown {
  const refused = operation === 'cancel' ? 'cancel-refused' : 'card-refused';
  if (e instanceof ApiError) return e;
  if (isProxyError(e)) return new ApiError(e.status, e.code, e.message);
  if (e instanceof PeerError) {
    if (e.kind === 'unreachable') return new ApiError(502, 'market-unreachable', e.message);
    if (e.kind === 'timeout') return new ApiError(504, 'market-timeout', e.message);
    if (e.kind === 'too-large') return new ApiError(502, 'market-answer-too-large', e.message);
    if (e.kind === 'bad-answer') return new ApiError(502, 'market-bad-answer', e.message);
    if (e.status === 404) return new ApiError(404, 'order-unknown', e.message);
    return new ApiError(409, 'order-not-payable', e.message, { marketCode: e.peerCode ?? null });
  }
  if (isCardError(e)) {
    // The card driver refused an argument before sending anything: the request's data, not the card.
    if (e.code === CardErrorCode.InvalidArgument) return new ApiError(400, 'bad-request', `The ${operation} has a field the home card cannot hold (${String(e.context.argument ?? 'argument')})`);
    if (e.code === CardErrorCode.InsufficientFunds) return new ApiError(402, 'insufficient-funds', 'The purse on the home card holds too little for this payment');
    if (e.code === CardErrorCode.LimitExceeded) return new ApiError(409, 'limit-exceeded', 'The home card refused: over its per-payment, daily or maximum-balance limit');
    if (e.code === CardErrorCode.CertificateRejected) return new ApiError(502, 'market-untrusted', `The home card rejected the market's certificate: ${String(e.context.reason ?? '')}`);
    if (e.code === CardErrorCode.ConditionsNotSatisfied) return new ApiError(409, refused, `The home card refused the ${operation} in its present state`);
    if (e.code === CardErrorCode.WrongData || e.code === CardErrorCode.NotFound) return new ApiError(409, refused, `The home card refused the data it was given for the ${operation}`);
    if (e.code < 400) return new ApiError(503, 'card-absent', `The home card did not answer: ${e.message}`);
  }
  const pin = pinError(e);
  return pin;
}
