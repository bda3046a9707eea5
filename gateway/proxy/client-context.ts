/**
 * The TLS client context of one credential (ephemeral key + card-signed leaf)
 * towards one market: TLS 1.3 only, the credential's key and chain, the
 * market's registered anchors.
 *
 * Building one is most of the gateway's CPU for a market connection after the
 * handshake itself (OpenSSL 3 makes a fresh SSL_CTX, a certificate store with
 * the anchors, and decodes the PEM key and chain: about 1.3 ms on a desktop
 * core, docs/PERFORMANCE.md). Two ways keep that down:
 *
 * - a credential that is kept (`reuseSessionCertificate`) gets its own
 *   context, built once (`marketClientContext`);
 * - a credential used for one connection (the default) is loaded into ONE
 *   context per market (`SharedMarketContexts`), whose SSL_CTX and anchor
 *   store are built once: per credential only the key and the chain are
 *   decoded (about 0.6 of 1.3 ms). That is safe because OpenSSL copies the
 *   certificate, chain and key of an SSL_CTX into each SSL object when the
 *   connection is created (`SSL_new` duplicates the CERT), and Node creates it
 *   synchronously inside `tls.connect`: a credential loaded later changes the
 *   context, never a connection already made. So `load` must be called right
 *   before `tls.connect`, with no `await` in between.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import { marketAnchorsPem } from './market-chain.js';
import type { MarketTarget } from './proxy-options.js';

export interface ClientContextParams {
  market: MarketTarget;
  /** The private key, PEM (SEC1 or PKCS#8; the delegated handshake writes SEC1). Secret: never logged. */
  keyPem: string;
  /** The session leaf, PEM. */
  leafPem: string;
  /** The card certificate that issued it, PEM: sent after the leaf. */
  cardCertificatePem: string;
}

const TLS13_ONLY = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const;

export function marketClientContext(p: ClientContextParams): SecureContext {
  return createSecureContext({ ...TLS13_ONLY, key: p.keyPem, cert: p.leafPem + p.cardCertificatePem, ca: marketAnchorsPem(p.market) });
}

/** The native SSL_CTX wrapper Node keeps in `SecureContext.context` (what `createSecureContext` itself calls). */
interface NativeContext {
  setCert(certPem: string): void;
  setKey(keyPem: string, passphrase?: string): void;
}

function nativeOf(c: SecureContext): NativeContext | undefined {
  const native = (c as SecureContext & { context?: Partial<NativeContext> }).context;
  return typeof native?.setCert === 'function' && typeof native.setKey === 'function' ? (native as NativeContext) : undefined;
}

/**
 * One TLS client context per market (per MarketTarget: a re-registered market
 * is a new target, with its new anchors) and card certificate, for credentials
 * used once. The context keeps the last credential's key until the next one
 * replaces it, as a kept credential's context keeps its own: an ephemeral key
 * whose leaf expires within minutes, in memory only.
 *
 * The card certificate goes into the context's chain once, with the first
 * leaf; later leaves are set alone. Node's `setCert` replaces the leaf but
 * only ADDS the PEM's further certificates to the chain (it clears the
 * context's "extra" chain, not the one it adds to), so passing leaf + card
 * certificate every time would send one more card certificate per credential
 * (test/gateway/proxy-shared-context.test.ts holds the chain to two).
 */
export class SharedMarketContexts {
  readonly #contexts = new WeakMap<MarketTarget, { context: SecureContext; native: NativeContext; cardCertificatePem: string }>();

  /**
   * The market's context with this credential loaded: pass it to `tls.connect`
   * at once (see above). Should Node's context ever lack the native setters,
   * a context of the credential's own is built instead.
   */
  load(p: ClientContextParams): SecureContext {
    const kept = this.#contexts.get(p.market);
    // Certificate first: OpenSSL drops the previous credential's key when it does not match the new leaf.
    if (kept !== undefined && kept.cardCertificatePem === p.cardCertificatePem) {
      kept.native.setCert(p.leafPem);
      kept.native.setKey(p.keyPem);
      return kept.context;
    }
    // The first credential for this market, or another card: a new context, its chain with this card certificate.
    const context = createSecureContext({ ...TLS13_ONLY, ca: marketAnchorsPem(p.market) });
    const native = nativeOf(context);
    if (native === undefined) return marketClientContext(p);
    native.setCert(p.leafPem + p.cardCertificatePem);
    native.setKey(p.keyPem);
    this.#contexts.set(p.market, { context, native, cardCertificatePem: p.cardCertificatePem });
    return context;
  }
}
