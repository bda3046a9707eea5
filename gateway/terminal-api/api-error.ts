/**
 * The one error type the terminal API answers with: an HTTP status, a stable
 * kebab-case code from API.md, a message for people and a few safe fields
 * (e.g. triesLeft). Never a PIN, key or session in any of them.
 */
import { CodedError } from '../../card-io/base/coded-error.js';

export type ApiErrorCode =
  | 'bad-request'
  | 'body-too-large'
  | 'client-certificate-required'
  | 'signature-invalid'
  | 'signature-identity-mismatch'
  | 'signature-wrong-request'
  | 'request-expired'
  | 'request-replayed'
  | 'terminal-unknown'
  | 'terminal-revoked'
  /** Admin API: the card refused the admin key's authentication. */
  | 'admin-auth-failed'
  /** Admin API: the name, certificate or profile is already taken. */
  | 'conflict'
  | 'market-unknown'
  | 'not-found'
  | 'card-locked'
  | 'card-absent'
  | 'pin-wrong'
  | 'pin-blocked'
  | 'pin-throttled'
  | 'market-unreachable'
  | 'market-timeout'
  | 'market-answer-too-large'
  | 'market-bad-answer'
  | 'market-untrusted'
  | 'market-certificate-expired'
  | 'market-wrong-host'
  | 'market-refused-client-certificate'
  | 'market-no-ticket'
  | 'order-unknown'
  | 'order-not-payable'
  | 'insufficient-funds'
  | 'limit-exceeded'
  | 'topup-limit'
  | 'issuer-refused'
  | 'issuer-unreachable'
  | 'issuer-timeout'
  | 'issuer-bad-answer'
  | 'decision-unknown'
  | 'cancel-refused'
  | 'card-refused'
  | 'amount-mismatch'
  | 'already-paid'
  | 'not-your-decision'
  | 'archive-damaged'
  /** Pairing: the code is wrong, expired, used or unknown (all alike from outside). */
  | 'pairing-refused'
  /** Pairing: too many failed attempts lately. */
  | 'pairing-throttled'
  | 'internal';

export type ApiErrorFields = Record<string, string | number | boolean | null>;

/** The edge's own error (a malformed request, an unknown route); domain errors are mapped to it by toHttpError. */
export class ApiError extends CodedError<ApiErrorCode, ApiErrorFields> {
  override readonly name = 'ApiError';
  readonly family = 'api';

  constructor(
    readonly status: number,
    code: ApiErrorCode,
    message: string,
    fields: ApiErrorFields = {},
  ) {
    super(code, message, fields);
  }

  /** The safe fields the answer carries beside code and message. */
  get fields(): ApiErrorFields {
    return this.context;
  }

  toJSON(): { error: { code: ApiErrorCode; message: string } & ApiErrorFields } {
    return { error: { code: this.code, message: this.message, ...this.fields } };
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}
