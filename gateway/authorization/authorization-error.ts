/**
 * The one error class of terminal and market authorization: who the terminal
 * is, which market it asks for, whether the card can vouch. Codes are the
 * terminal API's words (API.md, "Errors"); the edge maps them to HTTP.
 */
import { CodedError, type SafeFields } from '../../card-io/base/coded-error.js';

export type AuthorizationErrorCode = 'terminal-unknown' | 'terminal-revoked' | 'market-unknown' | 'card-absent';

export class AuthorizationError extends CodedError<AuthorizationErrorCode, SafeFields> {
  override readonly name = 'AuthorizationError';
  readonly family = 'authorization';

  constructor(code: AuthorizationErrorCode, message: string, context: SafeFields = {}, options?: { cause?: unknown }) {
    super(code, message, context, options);
  }
}
