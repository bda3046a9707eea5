/**
 * The one error class of the gateway registry. Callers branch on `code`, never
 * on message text; messages end with the code, e.g. "Market sandbox exists
 * (registry:duplicate)". The context holds names and ids, never keys.
 */
import { CodedError } from '../../card-io/base/coded-error.js';

export type RegistryErrorCode =
  /** A terminal fingerprint or an active terminal name, or a market name, is already taken. */
  | 'duplicate'
  /** No terminal or market with that id or name. */
  | 'not-found'
  /** An argument failed validation (name, mail, URL, fingerprint, anchor). */
  | 'invalid'
  /** The registry file is not valid JSON or not a registry; it is left untouched. */
  | 'corrupt'
  /** The registry file is gone although it was written before (see registry-witness.ts); nothing is created in its place. */
  | 'missing'
  /** The registry was used before `open()` resolved (or after it failed). */
  | 'not-open';

export class RegistryError extends CodedError<RegistryErrorCode> {
  override readonly name = 'RegistryError';
  readonly family = 'registry';

  constructor(code: RegistryErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, `${message} (registry:${code})`, context, options);
  }
}

export function isRegistryError(e: unknown, code?: RegistryErrorCode): e is RegistryError {
  return e instanceof RegistryError && (code === undefined || e.code === code);
}
