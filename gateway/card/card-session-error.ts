/**
 * The one error class of the gateway's card sessions (unlock, PIN tries and
 * their throttle, the card's presence). Codes are the terminal API's words
 * (API.md, "Errors"); the edge maps them to HTTP. The context holds `pin`
 * (which PIN, never its value), `triesLeft`, `retryAfterMs`, `unblockCommand`,
 * `reason` and `cardErrorCode`.
 */
import { CodedError, type SafeFields } from '../../card-io/base/coded-error.js';

export type CardSessionErrorCode =
  /** This terminal's card session is closed: unlock with PIN1 first. */
  | 'card-locked'
  | 'pin-wrong'
  | 'pin-blocked'
  /** Too many wrong tries from this terminal: wait `retryAfterMs`. */
  | 'pin-throttled'
  /** The home card does not answer (absent or line down). */
  | 'card-absent'
  /** The card was used after its lease was handed back: a bug. */
  | 'internal';

export class CardSessionError extends CodedError<CardSessionErrorCode, SafeFields> {
  override readonly name = 'CardSessionError';
  readonly family = 'card-session';

  constructor(code: CardSessionErrorCode, message: string, context: SafeFields = {}, options?: { cause?: unknown }) {
    super(code, message, context, options);
  }
}

export function isCardSessionError(e: unknown, code?: CardSessionErrorCode): e is CardSessionError {
  return e instanceof CardSessionError && (code === undefined || e.code === code);
}
