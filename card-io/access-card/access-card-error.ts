/**
 * Errors on the terminal side: a stable code, a message for people, and the
 * gateway's own error fields when the gateway refused (API.md). Never a PIN,
 * key or session in any of them.
 */
import { CodedError } from '../base/coded-error.js';

export type AccessCardErrorCode =
  | 'gateway-unreachable'
  | 'gateway-refused'
  | 'gateway-bad-answer'
  | 'market-unreachable'
  | 'market-full-handshake'
  | 'profile-invalid'
  | 'pin-input'
  | 'session-file-refused'
  /** This terminal's card session is closed and the command may not ask PIN1 (only `terminal unlock` does). */
  | 'card-locked';

export class AccessCardError extends CodedError<AccessCardErrorCode> {
  override readonly name = 'AccessCardError';
  readonly family = 'access-card';
  constructor(
    code: AccessCardErrorCode,
    message: string,
    /** For gateway-refused: the gateway's error code and fields (e.g. triesLeft). */
    readonly gateway?: { status: number; code: string; [k: string]: unknown },
  ) {
    super(code, message, { ...(gateway ? { gateway } : {}) });
  }
}

export function isAccessCardError(e: unknown): e is AccessCardError {
  return e instanceof AccessCardError;
}

/** Closed card session, whether found before asking (card-locked) or refused by the gateway (423 card-locked). */
export function isCardLocked(e: unknown): boolean {
  return isAccessCardError(e) && (e.code === 'card-locked' || (e.code === 'gateway-refused' && e.gateway?.code === 'card-locked'));
}
