/**
 * The one error class of terminal enrollment. Registry problems (a duplicate
 * certificate or active name, an invalid name or mail) stay RegistryErrors.
 */
import { CodedError } from '../card-io/base/coded-error.js';

export type EnrollmentErrorCode =
  /** The profile directory exists; enrollment never overwrites a terminal's key. */
  | 'profile-exists'
  /** An argument failed validation (gateway URL, server certificate names). */
  | 'invalid'
  /** `provision household` into a directory that already holds a household root. */
  | 'household-exists'
  /** A certificate signing request that does not parse, is not P-256 or whose signature fails. */
  | 'csr-invalid';

export class EnrollmentError extends CodedError<EnrollmentErrorCode> {
  override readonly name = 'EnrollmentError';
  readonly family = 'enrollment';

  constructor(code: EnrollmentErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, `${message} (${code})`, context, options);
  }
}

export function isEnrollmentError(e: unknown, code?: EnrollmentErrorCode): e is EnrollmentError {
  return e instanceof EnrollmentError && (code === undefined || e.code === code);
}
