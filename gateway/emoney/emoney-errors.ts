/**
 * Card and market failures met while paying, cancelling or topping up, said
 * as purse errors (EmoneyError): what a card's refusal or a market's answer
 * means for this operation is the purse's to decide. The HTTP status is the
 * edge's (terminal-api/http-errors.ts). Never a PIN or key in a message.
 */
import { CodedError } from '../../card-io/base/coded-error.js';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { pinError } from '../card/card-sessions.js';
import { EmoneyError } from './emoney-error.js';
import { PeerError } from './https-json.js';

/** Proxy errors, session errors and purse errors pass through; card and market failures become EmoneyErrors. */
export function toEmoneyError(e: unknown, operation: 'pay' | 'cancel' | 'topup' = 'pay'): unknown {
  const refused = operation === 'cancel' ? 'cancel-refused' : 'card-refused';
  if (e instanceof PeerError) {
    if (e.kind === 'unreachable') return new EmoneyError('market-unreachable', e.message);
    if (e.kind === 'timeout') return new EmoneyError('market-timeout', e.message);
    if (e.kind === 'too-large') return new EmoneyError('market-answer-too-large', e.message);
    if (e.kind === 'bad-answer') return new EmoneyError('market-bad-answer', e.message);
    if (e.status === 404) return new EmoneyError('order-unknown', e.message);
    return new EmoneyError('order-not-payable', e.message, { marketCode: e.peerCode ?? null });
  }
  if (isCardError(e)) {
    // The card driver refused an argument before sending anything: the request's data, not the card.
    if (e.code === CardErrorCode.InvalidArgument)
      return new EmoneyError('bad-request', `The ${operation} has a field the home card cannot hold (${String(e.context.argument ?? 'argument')})`);
    if (e.code === CardErrorCode.InsufficientFunds)
      return new EmoneyError('insufficient-funds', 'The purse on the home card holds too little for this payment');
    if (e.code === CardErrorCode.LimitExceeded)
      return new EmoneyError('limit-exceeded', 'The home card refused: over its per-payment, daily or maximum-balance limit');
    if (e.code === CardErrorCode.CertificateRejected)
      return new EmoneyError('market-untrusted', `The home card rejected the market's certificate: ${String(e.context.reason ?? '')}`);
    if (e.code === CardErrorCode.ConditionsNotSatisfied) return new EmoneyError(refused, `The home card refused the ${operation} in its present state`);
    if (e.code === CardErrorCode.WrongData || e.code === CardErrorCode.NotFound)
      return new EmoneyError(refused, `The home card refused the data it was given for the ${operation}`);
    // A card pulled mid-command says whether the command reached it ('not-sent') or may have run ('unknown').
    if (e.code < 400) {
      const outcome = e.code === CardErrorCode.CardRemoved && typeof e.context.outcome === 'string' ? e.context.outcome : undefined;
      return new EmoneyError('card-absent', `The home card did not answer: ${e.message}`, outcome ? { outcome } : {});
    }
  }
  return pinError(e);
}

/**
 * The outcome a terminal learns is the payment's, not that of the command the
 * pull interrupted: a card pulled during VERIFY PIN2 or VERIFY CERTIFICATE
 * (whose own outcome is "unknown") was never sent PAY, so nothing was paid
 * and the terminal may pay again.
 */
export function paymentNotSent(e: unknown, paySent: boolean): unknown {
  if (paySent || !(e instanceof CodedError) || e.code !== 'card-absent') return e;
  return new EmoneyError('card-absent', e.message, {
    ...(typeof e.context.cardErrorCode === 'number' ? { cardErrorCode: e.context.cardErrorCode } : {}),
    ...(typeof e.context.reason === 'string' ? { reason: e.context.reason } : {}),
    outcome: 'not-sent',
  });
}
