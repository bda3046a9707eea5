/**
 * The one error class of the gateway's history. Callers branch on `code`,
 * never on message text; messages end with the code, e.g.
 * "No entry c1:decision:7 (history:not-found)". The context holds keys and
 * paths, never a signed record.
 */
import { CodedError } from '../../card-io/base/coded-error.js';

export type HistoryErrorCode =
  /** An entry, key or patch failed validation. */
  | 'invalid'
  /** `update` named a key that is not archived. */
  | 'not-found'
  /** A partition file is not valid JSON or not a partition; it is left untouched. */
  | 'corrupt';

export class HistoryError extends CodedError<HistoryErrorCode> {
  override readonly name = 'HistoryError';
  readonly family = 'history';

  constructor(code: HistoryErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, `${message} (history:${code})`, context, options);
  }
}

export function isHistoryError(e: unknown, code?: HistoryErrorCode): e is HistoryError {
  return e instanceof HistoryError && (code === undefined || e.code === code);
}
