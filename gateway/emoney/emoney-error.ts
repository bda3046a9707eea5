/**
 * The one error class of the purse (pay, cancel, top-up). Codes are the
 * terminal API's words for purse outcomes (API.md, "Errors"), so the edge maps
 * them to an HTTP status without a second vocabulary; this module never
 * decides a status. The context holds the safe fields the answer carries
 * (`files`, `used`, `limit`, `room`, `issuerCode`, `marketCode` ...), never a
 * PIN, key or signed record.
 */
import { CodedError, type SafeFields } from '../../card-io/base/coded-error.js';

export type EmoneyErrorCode =
  | 'bad-request'
  | 'card-absent'
  | 'market-unknown'
  | 'market-untrusted'
  | 'market-unreachable'
  | 'market-timeout'
  | 'market-answer-too-large'
  | 'market-bad-answer'
  | 'order-unknown'
  | 'order-not-payable'
  | 'amount-mismatch'
  | 'already-paid'
  | 'insufficient-funds'
  | 'limit-exceeded'
  | 'topup-limit'
  | 'card-refused'
  | 'cancel-refused'
  | 'decision-unknown'
  | 'not-your-decision'
  | 'issuer-refused'
  | 'issuer-unreachable'
  | 'issuer-timeout'
  | 'issuer-bad-answer'
  /** The archive a money step must append to is damaged (`files`); nothing was changed. */
  | 'archive-damaged';

export class EmoneyError extends CodedError<EmoneyErrorCode, SafeFields> {
  override readonly name = 'EmoneyError';
  readonly family = 'emoney';

  constructor(code: EmoneyErrorCode, message: string, context: SafeFields = {}, options?: { cause?: unknown }) {
    super(code, message, context, options);
  }
}

export function isEmoneyError(e: unknown, code?: EmoneyErrorCode): e is EmoneyError {
  return e instanceof EmoneyError && (code === undefined || e.code === code);
}
