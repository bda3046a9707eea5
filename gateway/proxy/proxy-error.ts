/**
 * The one error class of the proxy engine. Codes are the terminal API's
 * (gateway/terminal-api/API.md, "Errors"), so the listener passes `code` and
 * `status` through unchanged; callers branch on `code`, never on the message.
 * Messages end with the code, e.g. "Market sandbox is unreachable (market-unreachable)".
 *
 * The context holds names, hosts, ports, fingerprints and the TLS error code:
 * never a key, a PIN or the session.
 */
import { CodedError } from '../../card-io/base/coded-error.js';

export const ProxyErrorCode = {
  /** Connect failed or timed out, or TLS failed for a reason unrelated to certificates. */
  MarketUnreachable: 'market-unreachable',
  /** The market's chain does not verify against the registered anchors or the card's. */
  MarketUntrusted: 'market-untrusted',
  /** The market's certificate (or one above it) is expired or not yet valid. */
  MarketCertificateExpired: 'market-certificate-expired',
  /** The market's certificate does not name the host we connect to. */
  MarketWrongHost: 'market-wrong-host',
  /** The market rejected the card-signed session certificate. */
  MarketRefusedClientCertificate: 'market-refused-client-certificate',
  /** The handshake worked but no NewSessionTicket arrived in time: nothing to resume. */
  MarketNoTicket: 'market-no-ticket',
  /** A bug or a misconfiguration (invalid options, a card signature that does not verify). */
  Internal: 'internal',
} as const;

export type ProxyErrorCode = (typeof ProxyErrorCode)[keyof typeof ProxyErrorCode];

export interface ProxyErrorContext {
  /** The market's registered name. */
  market?: string;
  host?: string;
  port?: number;
  /** Which step failed. */
  stage?: 'options' | 'market-chain' | 'card' | 'session-certificate' | 'handshake' | 'ticket';
  /** Node's / OpenSSL's error code, e.g. `CERT_HAS_EXPIRED`, `ERR_SSL_TLSV1_ALERT_UNKNOWN_CA`. */
  tlsCode?: string;
  /** A short machine-readable reason, e.g. `timeout`, `closed-after-handshake`. */
  reason?: string;
  [key: string]: unknown;
}

export class ProxyError extends CodedError<ProxyErrorCode, ProxyErrorContext> {
  override readonly name = 'ProxyError';
  readonly family = 'proxy';

  constructor(code: ProxyErrorCode, message: string, context: ProxyErrorContext = {}, options?: { cause?: unknown }) {
    super(code, `${message} (${code})`, context, options);
  }

  /** HTTP status for the terminal API: 502 for every market failure, 500 for `internal`. */
  get status(): 500 | 502 {
    return this.code === ProxyErrorCode.Internal ? 500 : 502;
  }
}

export function isProxyError(e: unknown, code?: ProxyErrorCode): e is ProxyError {
  return e instanceof ProxyError && (code === undefined || e.code === code);
}
