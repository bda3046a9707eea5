/**
 * The one error class of signed-request verification. Codes and HTTP statuses
 * are the terminal API's (API.md, errors). It is an ApiError, so the listener
 * answers it as `{ error: { code, message } }` with `status` and no mapping.
 * Messages never hold a key, a nonce or the payload; `reason` says which check
 * failed, for the gateway log only (it is not part of the answer).
 */
import { ApiError } from './api-error.js';

export const SIGNATURE_ERROR_STATUS = {
  'signature-invalid': 401,
  'signature-identity-mismatch': 403,
  'signature-wrong-request': 400,
  'request-expired': 401,
  'request-replayed': 409,
} as const;

export type RequestSignatureErrorCode = keyof typeof SIGNATURE_ERROR_STATUS;

export class RequestSignatureError extends ApiError {
  declare readonly code: RequestSignatureErrorCode;
  /** Which check failed, e.g. 'alg', 'nonce-format', 'iat-before-start'. */
  readonly reason: string;

  constructor(code: RequestSignatureErrorCode, message: string, reason: string, options?: { cause?: unknown }) {
    super(SIGNATURE_ERROR_STATUS[code], code, message);
    this.reason = reason;
    if (options?.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false });
  }
}

export function isRequestSignatureError(e: unknown, code?: RequestSignatureErrorCode): e is RequestSignatureError {
  return e instanceof RequestSignatureError && (code === undefined || e.code === code);
}
