/**
 * The one error class of terminal enrollment. Registry problems (a duplicate
 * certificate or active name, an invalid name or mail) stay RegistryErrors.
 */
export type EnrollmentErrorCode =
  /** The profile directory exists; enrollment never overwrites a terminal's key. */
  | 'profile-exists'
  /** An argument failed validation (gateway URL, server certificate names). */
  | 'invalid';

export class EnrollmentError extends Error {
  override readonly name = 'EnrollmentError';
  readonly code: EnrollmentErrorCode;
  readonly context: Record<string, unknown>;

  constructor(code: EnrollmentErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(`${message} (${code})`, options);
    this.code = code;
    this.context = context;
  }
}

export function isEnrollmentError(e: unknown, code?: EnrollmentErrorCode): e is EnrollmentError {
  return e instanceof EnrollmentError && (code === undefined || e.code === code);
}
