/**
 * What the proxy engine is given: the card (abstracted as a signer), the
 * market to authenticate to, and the engine's options. Options are validated
 * once, every problem reported at once.
 */
import { z } from 'zod';
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

/**
 * The proxy engine's options: the one schema, also the `proxy` section of
 * gateway.json, so a value the configuration accepts is a value the engine
 * accepts.
 */
export const proxyOptionsSchema = z
  .object({
    leafLifetimeSeconds: z
      .number()
      .int()
      .min(60)
      .max(900)
      .default(300)
      .describe(
        'How long the card-signed session leaf stays valid after "now", in seconds. Range 60..900, default 300. ' +
          'The leaf starts 60 s before "now" for markets whose clock is a little behind, except that the whole validity may not exceed the card\'s ' +
          '15-minute limit (PROTOCOL.md, session-certificate rules): above 840 s the backdating shrinks (to none at 900 s).',
      ),
    connectTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(60_000)
      .default(5000)
      .describe('Time for TCP connect plus the TLS handshake, in ms. Range 100..60000, default 5000.'),
    ticketTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(30_000)
      .default(2000)
      .describe(
        'How long to wait for the NewSessionTicket after the handshake, in ms. Range 100..30000, default 2000. TLS 1.3 servers send it right ' +
          "after they read the client's Finished (RFC 8446 §4.6.1), so this is one round trip plus the market's certificate check.",
      ),
    reuseSessionCertificate: z
      .boolean()
      .default(false)
      .describe(
        "Default false. When true, the ephemeral key and card-signed leaf of a market are kept in memory and reused until 60 s before the leaf expires: such an authorization skips the card's VERIFY CERTIFICATE and SIGN (`cardSigned: false` in the result). " +
          'The caller still checks PIN2. Off by default because the card is meant to check every market handshake.',
      ),
  })
  .strict();

export type ProxyOptions = z.infer<typeof proxyOptionsSchema>;

export const DEFAULT_PROXY_OPTIONS: Readonly<ProxyOptions> = Object.freeze(proxyOptionsSchema.parse({}));

// An options object is validated once: the gateway passes the same one to every authorization.
const resolved = new WeakMap<object, ProxyOptions>();

/** Defaults filled in; throws one `internal` ProxyError listing every problem. */
export function resolveProxyOptions(options: Partial<ProxyOptions> = {}): ProxyOptions {
  const known = resolved.get(options);
  if (known !== undefined) return known;
  const result = proxyOptionsSchema.safeParse(stripUndefined(options));
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`);
    throw new ProxyError(ProxyErrorCode.Internal, `Invalid proxy options: ${problems.join('; ')}`, {
      stage: 'options',
      problems,
    });
  }
  resolved.set(options, result.data);
  return result.data;
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
