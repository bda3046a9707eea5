/**
 * What the proxy engine is given: the card (abstracted as a signer), the
 * market to authenticate to, and the engine's options. Options are validated
 * once, every problem reported at once (STYLE.md §7).
 */
import { ProxyError, ProxyErrorCode } from './proxy-error.js';

/**
 * The home card as the proxy sees it, supplied per authorization after PIN2
 * released the card (PROTOCOL.md: VERIFY CERTIFICATE does not use up the
 * release, SIGN SESSION CERTIFICATE does).
 */
export interface CardSigner {
  /** DER: the card's constrained-CA certificate (issuer CA → card, pathLen 0). */
  cardCertificate: Buffer;
  /** Card VERIFY CERTIFICATE at time `at` (leaf first); throws on rejection. */
  verifyMarketChain(chainDer: Buffer[], at: Date): Promise<void>;
  /** Card SIGN SESSION CERTIFICATE: the DER ECDSA-Sig-Value over SHA-256(TBS). */
  signSessionCertificate(tbsDer: Buffer): Promise<Buffer>;
}

/** A registered market. */
export interface MarketTarget {
  /** The registry name (`"sandbox"`); used in logs, errors and cache keys. */
  name: string;
  host: string;
  port: number;
  /** SNI and the name the market's certificate must carry; also the session leaf's dNSName. */
  servername: string;
  /** The market's registered trust anchors (DER CA certificates). At least one. */
  anchorsDer: Buffer[];
  /** ALPN protocols offered. Default `['http/1.1']`. Tickets are bound to it. */
  alpn?: string[];
}

export interface ProxyOptions {
  /**
   * How long the card-signed session leaf stays valid after "now", in seconds.
   * Range 60..900, default 300. The leaf starts 60 s before "now" for markets
   * whose clock is a little behind, except that the whole validity may not
   * exceed the card's 15-minute limit (PROTOCOL.md, session-certificate rules):
   * above 840 s the backdating shrinks (to none at 900 s).
   */
  leafLifetimeSeconds: number;
  /** Time for TCP connect plus the TLS handshake, in ms. Range 100..60000, default 5000. */
  connectTimeoutMs: number;
  /**
   * How long to wait for the NewSessionTicket after the handshake, in ms.
   * Range 100..30000, default 2000. TLS 1.3 servers send it right after they
   * read the client's Finished (RFC 8446 §4.6.1), so this is one round trip
   * plus the market's certificate check.
   */
  ticketTimeoutMs: number;
  /**
   * Default false. When true, the ephemeral key and card-signed leaf of a
   * market are kept in memory and reused until 60 s before the leaf expires:
   * such an authorization skips the card's VERIFY CERTIFICATE and SIGN
   * (`cardSigned: false` in the result). The caller still checks PIN2. Off by
   * default because claim 2 has the card check every market handshake.
   */
  reuseSessionCertificate: boolean;
}

export const DEFAULT_PROXY_OPTIONS: Readonly<ProxyOptions> = Object.freeze({
  leafLifetimeSeconds: 300,
  connectTimeoutMs: 5000,
  ticketTimeoutMs: 2000,
  reuseSessionCertificate: false,
});

const RANGES = {
  leafLifetimeSeconds: [60, 900],
  connectTimeoutMs: [100, 60_000],
  ticketTimeoutMs: [100, 30_000],
} as const;

/** Every problem with the given options, as sentences; empty when valid. */
export function proxyOptionProblems(options: Partial<ProxyOptions>): string[] {
  const problems: string[] = [];
  for (const [name, [min, max]] of Object.entries(RANGES)) {
    const value = options[name as keyof typeof RANGES];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
    }
  }
  const reuse = options.reuseSessionCertificate;
  if (reuse !== undefined && typeof reuse !== 'boolean') problems.push('reuseSessionCertificate must be a boolean');
  return problems;
}

/** Defaults filled in; throws one `internal` ProxyError listing every problem. */
export function resolveProxyOptions(options: Partial<ProxyOptions> = {}): ProxyOptions {
  const problems = proxyOptionProblems(options);
  if (problems.length > 0) {
    throw new ProxyError(ProxyErrorCode.Internal, `Invalid proxy options: ${problems.join('; ')}`, {
      stage: 'options',
      problems,
    });
  }
  return { ...DEFAULT_PROXY_OPTIONS, ...stripUndefined(options) };
}

function stripUndefined(o: Partial<ProxyOptions>): Partial<ProxyOptions> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<ProxyOptions>;
}

/** A market without anchors or with a bad port cannot be verified: a configuration bug. */
export function checkMarketTarget(market: MarketTarget): void {
  const problems: string[] = [];
  if (market.anchorsDer.length === 0) problems.push('no trust anchors');
  if (!Number.isInteger(market.port) || market.port < 1 || market.port > 65535) problems.push('port out of range');
  if (market.servername.length === 0) problems.push('empty servername');
  if (problems.length > 0) {
    throw new ProxyError(ProxyErrorCode.Internal, `Market ${market.name} is misconfigured: ${problems.join('; ')}`, {
      stage: 'options',
      market: market.name,
      problems,
    });
  }
}
