/**
 * The SMTP channel (optional): mails each notification to the terminal
 * owner's registered address: a plain-text summary, the notification JSON
 * attached. Delivered means the server accepted the recipient
 * (`info.accepted` names it; RFC 5321 §4.2: a 250 after DATA).
 *
 * Server down, refused login, 4xx: a transient failure; the notification
 * stays in the outbox and the delivery loop retries with backoff. A 5xx for
 * the recipient itself (e.g. 550 no such user) is final: NotifyError
 * 'rejected', so one bad address cannot block every other mail.
 *
 * The Message-ID is derived from the notification id, so a mail resent after
 * a crash (at-least-once) is recognisable as the same message.
 */
import { createHash } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { DeliveryChannel } from './delivery-loop.js';
import { mailSubject, mailText } from './mail-summary.js';
import { serializeNotification, type Notification } from './notification.js';
import { invalidOptions, NotifyError } from './notify-error.js';
import { smtpNotifierOptionsSchema, type ResolvedSmtpOptions, type SmtpNotifierOptions } from './smtp-options.js';

export type { ResolvedSmtpOptions, SmtpNotifierOptions } from './smtp-options.js';

/** Validates every option at once; NotifyError('invalid-options') lists each problem. */
export function resolveSmtpOptions(options: SmtpNotifierOptions): ResolvedSmtpOptions {
  const result = smtpNotifierOptionsSchema.safeParse(options);
  if (!result.success) throw invalidOptions('smtp', result.error.issues);
  return result.data;
}

/** A nodemailer error: `code` (ECONNECTION, EAUTH, EENVELOPE, ...) and the server's reply code. */
interface MailError extends Error {
  code?: string;
  responseCode?: number;
  rejected?: unknown[];
}

export class SmtpNotifier implements DeliveryChannel {
  readonly name = 'smtp';
  readonly concurrency = 1; // one connection at a time is plenty for a household and kind to the relay
  readonly #options: ResolvedSmtpOptions;
  readonly #transport: Transporter<SMTPTransport.SentMessageInfo>;

  constructor(options: SmtpNotifierOptions) {
    this.#options = resolveSmtpOptions(options);
    const o = this.#options;
    this.#transport = nodemailer.createTransport({
      host: o.host,
      port: o.port,
      secure: o.secure,
      requireTLS: o.requireTls,
      auth: o.auth,
      connectionTimeout: o.timeoutMs,
      greetingTimeout: o.timeoutMs,
      socketTimeout: o.timeoutMs,
      tls: { minVersion: 'TLSv1.2' },
    });
  }

  isReady(): boolean {
    return true; // no connection to watch: a send is the probe, and the loop backs off after a failure
  }

  onReady(): () => void {
    return () => undefined;
  }

  async send(n: Notification): Promise<void> {
    let info: SMTPTransport.SentMessageInfo;
    try {
      info = await this.#transport.sendMail({
        from: this.#options.from,
        to: n.mail,
        subject: mailSubject(n),
        text: mailText(n),
        messageId: `<${createHash('sha256').update(n.id).digest('hex').slice(0, 32)}@homegate>`,
        headers: { 'X-Homegate-Notification-Id': n.id },
        attachments: [{ filename: 'notification.json', content: serializeNotification(n), contentType: 'application/json' }],
      });
    } catch (e) {
      throw classify(e as MailError, n);
    }
    const accepted = info.accepted.map(address);
    if (accepted.includes(n.mail.toLowerCase())) return;
    if (info.rejected.map(address).includes(n.mail.toLowerCase())) {
      throw new NotifyError('rejected', 'The mail server refused the recipient', { id: n.id, response: info.response });
    }
    throw new Error(`The mail server did not accept the recipient (${info.response})`);
  }

  async stop(): Promise<void> {
    this.#transport.close();
  }
}

function address(a: string | { address: string }): string {
  return (typeof a === 'string' ? a : a.address).toLowerCase();
}

/** 5xx for the recipient: final. Everything else (no connection, login, 4xx, 5xx for the sender): retried. */
function classify(e: MailError, n: Notification): Error {
  const code = e.responseCode ?? 0;
  if (e.code === 'EENVELOPE' && code >= 500 && code < 600 && (e.rejected ?? []).map((a) => address(a as string)).includes(n.mail.toLowerCase())) {
    return new NotifyError('rejected', 'The mail server refused the recipient', { id: n.id, responseCode: code }, { cause: e });
  }
  return e;
}
