/**
 * The one error class of the notifier (outbox, MQTT, SMTP, embedded broker).
 * Callers branch on `code`, never on message text; messages end with the
 * code, e.g. "Port 1883 ... (notify:broker-port-in-use)". The context holds
 * hosts, ports, paths and notification ids, never a password.
 */
import { CodedError } from '../../card-io/base/coded-error.js';

export type NotifyErrorCode =
  /** Notifier options failed validation; the message lists every problem at once. */
  | 'invalid-options'
  /** A notification does not have the documented shape. */
  | 'invalid-notification'
  /** The embedded broker's TCP port is taken by another program. */
  | 'broker-port-in-use'
  /** The embedded broker could not listen for another reason (address not available, permission). */
  | 'broker-start-failed'
  /** The peer refused this notification for good (an SMTP 5xx for the recipient): retrying cannot help. */
  | 'rejected'
  /** The notifier was used after stop(). */
  | 'stopped'
  /** flush() gave up before the outbox was empty. */
  | 'flush-timeout'
  /** A one-off broker operation (decommission) could not connect or was not acknowledged. */
  | 'broker-unreachable';

export class NotifyError extends CodedError<NotifyErrorCode> {
  override readonly name = 'NotifyError';
  readonly family = 'notify';

  constructor(code: NotifyErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, `${message} (notify:${code})`, context, options);
  }
}

export function isNotifyError(e: unknown, code?: NotifyErrorCode): e is NotifyError {
  return e instanceof NotifyError && (code === undefined || e.code === code);
}

/** Formats zod-style issues as one line each, so every problem is reported at once. */
export function invalidOptions(what: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): NotifyError {
  const lines = issues.map((i) => `${[what, ...i.path.map(String)].join('.')}: ${i.message}`);
  return new NotifyError('invalid-options', `Invalid ${what} options: ${lines.join('; ')}`, { issues: lines });
}
