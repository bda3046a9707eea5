/**
 * Errors on the terminal side: a stable code, a message for people, and the
 * gateway's own error fields when the gateway refused (API.md). Never a PIN,
 * key or session in any of them.
 */
export type AccessCardErrorCode =
  | 'gateway-unreachable'
  | 'gateway-refused'
  | 'gateway-bad-answer'
  | 'market-unreachable'
  | 'market-full-handshake'
  | 'profile-invalid'
  | 'pin-input'
  | 'session-file-refused';

export class AccessCardError extends Error {
  override readonly name = 'AccessCardError';
  constructor(
    readonly code: AccessCardErrorCode,
    message: string,
    /** For gateway-refused: the gateway's error code and fields (e.g. triesLeft). */
    readonly gateway?: { status: number; code: string; [k: string]: unknown },
  ) {
    super(message);
  }
}

export function isAccessCardError(e: unknown): e is AccessCardError {
  return e instanceof AccessCardError;
}
