/**
 * The delegated handshake (docs/ARCHITECTURE.md; claims 1 and 2): the gateway
 * authenticates to a market on a terminal's behalf with a short-lived client
 * certificate the home card signs, and hands back the TLS session the
 * terminal resumes.
 *
 *   market chain (pre-flight, cached) → card VERIFY CERTIFICATE at "now"
 *   → TBS of the session leaf → card SIGN SESSION CERTIFICATE
 *   → TLS 1.3 with leaf + card certificate → wait for the session ticket.
 *
 * Errors are ProxyErrors with the API's codes, except failures of the card
 * itself (absent, not released, ...), which are passed on unchanged as the
 * driver's CardErrors for the caller to map.
 */
import { generateKeyPairSync, verify } from 'node:crypto';
import type { SecureContext } from 'node:tls';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { silentLogger, type Logger } from '../../card-io/base/log.js';
import { derToPem } from '../../provisioning/pki/pem.js';
import { startStage, traced, type AuthorizationTrace } from '../trace/authorization-trace.js';
import { marketClientContext, SharedMarketContexts } from './client-context.js';
import { MarketChainCache, marketKey, sha256, type MarketChain, type MarketChainFetcher } from './market-chain.js';
import { checkMarketTarget, resolveProxyOptions, type CardSigner, type MarketTarget, type ProxyOptions } from './proxy-options.js';
import { isProxyError, ProxyError, ProxyErrorCode } from './proxy-error.js';
import { assembleCertificate, buildSessionTbs, cardCertificateFacts } from './session-certificate.js';
import { ticketLifetimeHint } from './ssl-session.js';
import { connectForTicket } from './ticketed-connection.js';

/** A reused leaf is retired this long before it expires. */
export const REUSE_MARGIN_MS = 60_000;

/** What `POST /v1/authorize` answers (API.md), plus `cardSigned`. */
export interface DelegatedSession {
  market: string;
  host: string;
  port: number;
  servername: string;
  alpn: string | null;
  /**
   * DER SSL_SESSION: the common key. Non-enumerable, so that logging or
   * JSON-serializing the result never carries it; read it explicitly.
   */
  readonly session: Buffer;
  /** The market's ticket_lifetime_hint, seconds; null if the session has none. */
  ticketLifetimeSeconds: number | null;
  /** Subject of the session leaf, e.g. `CN=homegate session 1f2e3d4c`. */
  clientSubject: string;
  /** The session leaf's notAfter, ISO 8601. */
  certificateExpiresAt: string;
  /** False when a kept leaf was reused (`reuseSessionCertificate`) and the card was not used. */
  cardSigned: boolean;
}

/** The ephemeral key and card-signed leaf of one market, loaded in its TLS context. Secret (the key): never logged. */
interface ClientCredential {
  /**
   * The TLS context with key, leaf + card certificate and the market's anchors (client-context.ts):
   * a kept credential's own, built once; a one-shot credential's loaded into the market's shared
   * context by this call. Call it right before `tls.connect`, with no `await` in between.
   */
  secureContext: () => SecureContext;
  clientSubject: string;
  expiresAt: number;
  /** The market leaf the card verified before signing. */
  marketLeafFingerprint: Buffer;
}

/** What an engine keeps between authorizations: verified chains, each market's context for one-shot credentials and, if enabled, reusable leaves. */
export interface ProxyState {
  chains: MarketChainCache;
  contexts: SharedMarketContexts;
  leaves: Map<string, ClientCredential>;
}

export function createProxyState(fetchChain?: MarketChainFetcher): ProxyState {
  return { chains: new MarketChainCache(fetchChain), contexts: new SharedMarketContexts(), leaves: new Map() };
}

export interface DelegatedHandshakeParams {
  market: MarketTarget;
  signer: CardSigner;
  options?: Partial<ProxyOptions>;
  logger?: Logger;
  /** Unix ms; default `Date.now`. Given to the card as the verification time. */
  clock?: () => number;
  /** Caches kept across authorizations; without one nothing is cached. */
  state?: ProxyState;
  /** Stage timings (authorization-trace.ts); absent: nothing measured. */
  trace?: AuthorizationTrace;
}

/** The leaf's dNSName: the servername, or the wildcard entry of the market leaf that covers it. */
export function sessionDnsName(servername: string, marketDnsNames: readonly string[]): string {
  const name = servername.toLowerCase();
  if (marketDnsNames.some((n) => n.toLowerCase() === name)) return servername;
  const parent = name.slice(name.indexOf('.') + 1);
  return marketDnsNames.find((n) => n.toLowerCase() === `*.${parent}`) ?? servername;
}

function cardRejection(e: unknown, market: MarketTarget): unknown {
  if (!isCardError(e, CardErrorCode.CertificateRejected)) return e;
  const reason = typeof e.context.reason === 'string' ? e.context.reason : 'rejected';
  const code = reason === 'expired' ? ProxyErrorCode.MarketCertificateExpired : ProxyErrorCode.MarketUntrusted;
  return new ProxyError(
    code,
    `The card rejected the certificate chain of market ${market.name}: ${reason}`,
    {
      market: market.name,
      stage: 'card',
      reason,
    },
    { cause: e },
  );
}

/**
 * A fresh credential. `shared`: the market's context for a credential used once; absent, the
 * credential gets a context of its own (it is kept for reuse).
 */
async function cardSignedCredential(
  p: DelegatedHandshakeParams,
  chain: MarketChain,
  now: number,
  lifetimeSeconds: number,
  shared: SharedMarketContexts | undefined,
): Promise<ClientCredential> {
  const { market, signer, trace } = p;
  try {
    await traced(trace, 'card-verify-chain', () => signer.verifyMarketChain(chain.chainDer, new Date(now)));
  } catch (e) {
    throw cardRejection(e, market);
  }
  let end = startStage(trace, 'key-generation');
  // Node's generator directly: provisioning/pki/keys.js would load the X.509 issuing library (and its
  // reflect-metadata) into the gateway for this one call.
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  end?.();
  end = startStage(trace, 'certificate-build');
  const tbs = buildSessionTbs({
    cardCertificate: signer.cardCertificate,
    subjectPublicKey: keys.publicKey,
    dnsName: sessionDnsName(market.servername, chain.leafDnsNames),
    now,
    lifetimeSeconds,
  });
  end?.();
  const signature = await traced(trace, 'card-sign', () => signer.signSessionCertificate(tbs.der));
  end = startStage(trace, 'certificate-check');
  // The signature over the TBS bytes (ecdsa-with-SHA256, RFC 5758 §3.2), checked with the card key
  // parsed once: what verifying the assembled certificate checks, without parsing it back.
  const verified = verify('sha256', tbs.der, { key: cardCertificateFacts(signer.cardCertificate).publicKey, dsaEncoding: 'der' }, signature);
  const leaf = assembleCertificate(tbs.der, signature);
  end?.();
  if (!verified) {
    throw new ProxyError(ProxyErrorCode.Internal, 'The card signature on the session certificate does not verify', {
      market: market.name,
      stage: 'card',
    });
  }
  const contextParams = {
    market,
    // SEC1 ("EC PRIVATE KEY"): OpenSSL 3 encodes it in ≈ 10 µs against ≈ 60 µs for PKCS#8, and decodes it a little faster in setKey.
    keyPem: keys.privateKey.export({ type: 'sec1', format: 'pem' }) as string,
    leafPem: derToPem(leaf),
    cardCertificatePem: derToPem(signer.cardCertificate),
  };
  let secureContext: () => SecureContext;
  if (shared) {
    secureContext = () => {
      const done = startStage(trace, 'tls-context');
      const context = shared.load(contextParams);
      done?.();
      return context;
    };
  } else {
    end = startStage(trace, 'tls-context');
    const own = marketClientContext(contextParams);
    end?.();
    secureContext = () => own;
  }
  return {
    secureContext,
    clientSubject: tbs.subject,
    expiresAt: tbs.notAfter.getTime(),
    marketLeafFingerprint: chain.leafFingerprint,
  };
}

/** SHA-256 hex of the card certificate, once per certificate Buffer (the card service reads it once per insertion). */
const cardFingerprints = new WeakMap<Buffer, string>();
function cardFingerprint(cardCertificate: Buffer): string {
  let f = cardFingerprints.get(cardCertificate);
  if (f === undefined) {
    f = sha256(cardCertificate).toString('hex');
    cardFingerprints.set(cardCertificate, f);
  }
  return f;
}

/**
 * The market's child logger, made once per logger and market name rather
 * than per authorization (a pino child serializes its bindings when made).
 * Markets are few; the bound only keeps a stream of unknown names from growing it.
 */
const marketLoggers = new WeakMap<Logger, Map<string, Logger>>();
const MAX_MARKET_LOGGERS = 64;
function marketLogger(parent: Logger, market: string): Logger {
  let children = marketLoggers.get(parent);
  if (children === undefined) {
    children = new Map();
    marketLoggers.set(parent, children);
  }
  let child = children.get(market);
  if (child === undefined) {
    if (children.size >= MAX_MARKET_LOGGERS) children.clear();
    child = parent.child({ market });
    children.set(market, child);
  }
  return child;
}

/** Run one delegated handshake; resolves with the session for the terminal. */
export async function delegatedHandshake(p: DelegatedHandshakeParams): Promise<DelegatedSession> {
  const options = resolveProxyOptions(p.options); // validated once per options object (proxy-options.ts)
  const { market, signer } = p;
  checkMarketTarget(market);
  const logger = marketLogger(p.logger ?? silentLogger, market.name);
  const now = (p.clock ?? Date.now)();
  const state = p.state ?? createProxyState();
  const fetchParams = { market, connectTimeoutMs: options.connectTimeoutMs, logger };

  const { chain, cached } = await traced(p.trace, 'market-chain', () => state.chains.get({ ...fetchParams, now }));
  if (logger.isLevelEnabled('debug')) logger.debug({ cached, leaf: chain.leafFingerprint.toString('hex') }, 'market chain');

  const leafKey = `${marketKey(market)}\u0000${cardFingerprint(signer.cardCertificate)}`;
  const kept = options.reuseSessionCertificate ? state.leaves.get(leafKey) : undefined;
  const reusable = kept !== undefined && now < kept.expiresAt - REUSE_MARGIN_MS && kept.marketLeafFingerprint.equals(chain.leafFingerprint);
  const credential = reusable
    ? kept
    : await cardSignedCredential(p, chain, now, options.leafLifetimeSeconds, options.reuseSessionCertificate ? undefined : state.contexts);

  let ticket;
  try {
    ticket = await connectForTicket({
      market,
      secureContext: credential.secureContext(), // synchronously before connectForTicket's tls.connect (client-context.ts)
      expectedLeafFingerprint: chain.leafFingerprint,
      leafHostNameChecked: chain.hostNameCheckedFor === market.servername,
      connectTimeoutMs: options.connectTimeoutMs,
      ticketTimeoutMs: options.ticketTimeoutMs,
      logger,
      trace: p.trace,
    });
  } catch (e) {
    state.leaves.delete(leafKey);
    const seen = isProxyError(e) ? e.context.seenLeafFingerprint : undefined;
    if (typeof seen === 'string') {
      await state.chains.replaceIfChanged(fetchParams, Buffer.from(seen, 'hex')).catch((refetchError: unknown) => {
        logger.warn({ error: String(refetchError) }, 'refetching the market chain failed');
      });
    }
    throw e;
  }
  if (options.reuseSessionCertificate && !reusable) state.leaves.set(leafKey, credential);

  const result = {
    market: market.name,
    host: market.host,
    port: market.port,
    servername: market.servername,
    alpn: ticket.alpn,
    ticketLifetimeSeconds: ticketLifetimeHint(ticket.session),
    clientSubject: credential.clientSubject,
    certificateExpiresAt: new Date(credential.expiresAt).toISOString(),
    cardSigned: !reusable,
  };
  logger.info(result, 'market session obtained'); // `session` is not part of it
  return Object.defineProperty(result, 'session', { value: ticket.session, enumerable: false }) as DelegatedSession;
}
