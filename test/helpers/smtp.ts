/**
 * A real SMTP peer for tests (smtp-server): plain SMTP on 127.0.0.1, no TLS,
 * no authentication, keeping every accepted message. It can be stopped and
 * started again on the same port (a mail server outage), and told to refuse
 * some recipients with 550.
 *
 * `mimeParts` is a minimal MIME reader for assertions: the parts of a
 * multipart message with their transfer encoding undone.
 */
import { SMTPServer } from 'smtp-server';
import { freePort } from './link-probes.js';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

export interface RunningSmtp {
  readonly host: string;
  readonly port: number;
  readonly mails: ReceivedMail[];
  /** Resolves once `count` mails arrived; rejects after `timeoutMs` with what did. */
  waitForMails(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

export interface SmtpServerOptions {
  /** Recipients answered with `550 No such user`. */
  refuse?: string[];
}

export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<RunningSmtp> {
  const host = '127.0.0.1';
  const port = await freePort(host);
  const mails: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  let server: SMTPServer | undefined;

  const create = () =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      closeTimeout: 200,
      onRcptTo(address, _session, callback) {
        if (options.refuse?.includes(address.address)) {
          callback(Object.assign(new Error('No such user'), { responseCode: 550 }));
        } else callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
          mails.push({ from, to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
          for (const wake of waiters) wake();
          callback();
        });
      },
    });

  const start = async () => {
    const s = create();
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => {
        s.off('error', reject);
        resolve();
      });
    });
    s.on('error', () => undefined); // a client hanging up mid-session is not a test failure
    server = s;
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await start();
  return {
    host,
    port,
    mails,
    start,
    stop,
    waitForMails(count, timeoutMs = 10_000) {
      if (mails.length >= count) return Promise.resolve(mails.slice(0, count));
      return new Promise((resolve, reject) => {
        const wake = () => {
          if (mails.length < count) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(mails.slice(0, count));
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`${mails.length} of ${count} mails arrived within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(wake);
      });
    },
  };
}

export interface MimePart {
  headers: string;
  body: string;
}

/** The value of header `name` (unfolded), or undefined. */
export function header(headers: string, name: string): string | undefined {
  const unfolded = headers.replace(/\r?\n[ \t]+/g, ' ');
  const match = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(unfolded);
  return match?.[1]?.trim();
}

function decode(headers: string, body: string): string {
  const encoding = header(headers, 'Content-Transfer-Encoding')?.toLowerCase();
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    return body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
  return body;
}

function split(raw: string): MimePart {
  const at = raw.search(/\r?\n\r?\n/);
  if (at < 0) return { headers: raw, body: '' };
  const gap = /\r?\n\r?\n/.exec(raw.slice(at))![0].length;
  return { headers: raw.slice(0, at), body: raw.slice(at + gap) };
}

/** The message's top-level headers and its leaf parts (the whole body when it is not multipart), decoded. */
export function mimeParts(raw: string): { headers: string; parts: MimePart[] } {
  const top = split(raw);
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(header(top.headers, 'Content-Type') ?? '')?.[1];
  if (boundary === undefined) return { headers: top.headers, parts: [{ headers: top.headers, body: decode(top.headers, top.body) }] };
  const parts = top.body
    .split(`--${boundary}`)
    .slice(1)
    .filter((p) => !p.startsWith('--'))
    .map((p) => split(p.replace(/^\r?\n/, '')))
    .map((p) => ({ headers: p.headers, body: decode(p.headers, p.body.replace(/\r?\n$/, '')) }));
  return { headers: top.headers, parts };
}
