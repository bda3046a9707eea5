/**
 * Tiny fakes for home-card unit tests: a scripted ApduTransport, a
 * log-capturing logger, hex helpers and one real certificate. The emulator
 * integration lives elsewhere.
 */
import type { Logger, LogFn } from '../../card-io/base/log.js';
import type { ApduTransport } from '../../card-io/t1/apdu-transport.js';
import { encodeCommandApdu, type CommandApdu } from '../../card-io/apdu/index.js';

/** Hex with spaces and line breaks allowed, for vectors written out by hand. */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** The encoded command as upper-case hex without spaces. */
export function apduHex(apdu: CommandApdu): string {
  return encodeCommandApdu(apdu).toString('hex').toUpperCase();
}

export type CardAnswer = (command: Buffer, index: number) => Buffer | Promise<Buffer>;

/** An ApduTransport whose card answers from a function; records copies of what was sent. */
export class ScriptedTransport implements ApduTransport {
  readonly sent: Buffer[] = [];

  constructor(private readonly answer: CardAnswer) {}

  /** Answers the given responses in order, whatever the commands. */
  static replies(...responses: string[]): ScriptedTransport {
    return new ScriptedTransport((_command, i) => {
      const r = responses[i];
      if (r === undefined) throw new Error(`no scripted response for command ${i}`);
      return hex(r);
    });
  }

  async transmit(apdu: Buffer): Promise<Buffer> {
    this.sent.push(Buffer.from(apdu));
    return this.answer(Buffer.from(apdu), this.sent.length - 1);
  }
}

export interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** A logger at debug level that keeps every line, bindings included. */
export function capturingLogger(
  lines: LogLine[] = [],
  bindings: Record<string, unknown> = {},
): Logger & {
  lines: LogLine[];
} {
  const at = (level: string): LogFn =>
    ((objOrMsg: Record<string, unknown> | string, msg?: string) => {
      if (typeof objOrMsg === 'string') lines.push({ level, obj: { ...bindings }, msg: objOrMsg });
      else lines.push({ level, obj: { ...bindings, ...objOrMsg }, msg });
    }) as LogFn;
  return {
    lines,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    isLevelEnabled: () => true,
    child: (more) => capturingLogger(lines, { ...bindings, ...more }),
  };
}

/**
 * A real self-signed P-256 certificate (458 bytes, made with openssl), subject
 * CN=Home Card 0102030405060708, O=homegate. Longer than 256 bytes, so reading
 * it needs an extended Le.
 */
export const CARD_CERTIFICATE_DER = Buffer.from(
  'MIIBxjCCAWugAwIBAgIUei7YxY0XuxoycDWjbreWOP9qcP8wCgYIKoZIzj0EAwIwODEjMCEGA1UEAwwaSG9tZSBDYXJkIDAxMDIwMzA0MDUw' +
    'NjA3MDgxETAPBgNVBAoMCGhvbWVnYXRlMB4XDTI2MTEyNDA4MDIwMVoXDTM2MTEyMTA4MDIwMVowODEjMCEGA1UEAwwaSG9tZSBDYXJkIDAx' +
    'MDIwMzA0MDUwNjA3MDgxETAPBgNVBAoMCGhvbWVnYXRlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8OuSDgGZFoDcW+SLXyNfTzDS3dsG' +
    'MDq91LNk6XakMcQmhIBkwjpuxQ9qvuWpkuyHbvMtU4hdygK6WbQiA7bnFqNTMFEwHQYDVR0OBBYEFFxBLaFEuJ5aARCPgW83BdpCeVozMB8G' +
    'A1UdIwQYMBaAFFxBLaFEuJ5aARCPgW83BdpCeVozMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAITKlEqPfnzcimLeUeWf' +
    '5iZusbxdxrkioouLSJlyJtc0AiEAm49cP6tDolOy8xTLY0YbFYBiaT7uUpZhorHQy4ztcis=',
  'base64',
);
