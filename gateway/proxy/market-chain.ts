/**
 * The market's certificate chain, which the card must check (VERIFY
 * CERTIFICATE) before it signs the session certificate, and so must be known
 * before the authenticated handshake.
 *
 * It is obtained with a pre-flight TLS 1.3 connection that offers no client
 * certificate. In TLS 1.3 the server's Certificate comes before the client's
 * (RFC 8446 §2, Figure 1), and the client's handshake is complete, so
 * 'secureConnect' fires, before a market that requires a client certificate
 * answers with its certificate_required alert (§4.4.2.4). Node verifies the
 * chain here against the market's registered anchors and checks the host
 * name, so untrusted, expired and wrong-host markets are classified before the
 * card is involved.
 *
 * The chain is cached per market until the earliest notAfter in it, and
 * replaced when the authenticated handshake sees another leaf.
 */
import { createHash, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { Logger } from '../../card-io/base/log.js';
import { derToPem } from '../../provisioning/pki/pem.js';
import type { MarketTarget } from './proxy-options.js';
import { ProxyError, ProxyErrorCode } from './proxy-error.js';
import { classifyServerSideFailure, errorCodeOf } from './tls-errors.js';
import { marketLookup } from './market-lookup.js';

export interface MarketChain {
  /** DER, leaf first; a self-signed root above the leaf is left out (it is an anchor). */
  chainDer: Buffer[];
  /** SHA-256 of the leaf's DER. */
  leafFingerprint: Buffer;
  /** The leaf's subjectAltName dNSNames. */
  leafDnsNames: string[];
  /** The earliest notAfter in the chain, Unix ms: the cache entry's end. */
  expiresAt: number;
  /**
   * The host name Node's `tls.checkServerIdentity` accepted this leaf for, in
   * the pre-flight that fetched the chain (`fetchMarketChain`: the market's
   * servername). Absent for a chain from elsewhere: then every authenticated
   * handshake checks the host name itself (ticketed-connection.ts).
   */
  hostNameCheckedFor?: string;
}

export interface FetchChainParams {
  market: MarketTarget;
  connectTimeoutMs: number;
  logger: Logger;
}

export type MarketChainFetcher = (p: FetchChainParams) => Promise<MarketChain>;

export const DEFAULT_ALPN: readonly string[] = ['http/1.1'];

export function sha256(der: Uint8Array): Buffer {
  return createHash('sha256').update(der).digest();
}

/** dNSNames from Node's `subjectAltName` text ("DNS:a, DNS:b, IP Address:..."). */
export function dnsNamesOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((n) => n.startsWith('DNS:'))
    .map((n) => n.slice(4));
}

/** The chain Node verified (`getPeerCertificate(true)`), leaf first, without a self-signed root. */
export function chainFromPeer(peer: tls.DetailedPeerCertificate): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  let c: tls.DetailedPeerCertificate | undefined = peer;
  while (c?.raw !== undefined && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    const issuer: tls.DetailedPeerCertificate | undefined = c.issuerCertificate;
    const selfSigned = issuer !== undefined && issuer.fingerprint256 === c.fingerprint256;
    if (!(selfSigned && out.length > 0)) out.push(Buffer.from(c.raw));
    c = issuer;
  }
  return out;
}

export function describeChain(chainDer: Buffer[]): MarketChain {
  const certs = chainDer.map((der) => new X509Certificate(der));
  return {
    chainDer,
    leafFingerprint: sha256(chainDer[0]!),
    leafDnsNames: dnsNamesOf(certs[0]!),
    expiresAt: Math.min(...certs.map((c) => Date.parse(c.validTo))),
  };
}

/**
 * What a market registration derives, computed once per MarketTarget object
 * (targets are cached per registration, market-target.ts): its anchors as
 * PEM for OpenSSL and its cache key. Not per authorization.
 */
const derived = new WeakMap<MarketTarget, { anchorsPem: string[]; key: string }>();

function derivedOf(m: MarketTarget): { anchorsPem: string[]; key: string } {
  let d = derived.get(m);
  if (d === undefined) {
    const anchors = m.anchorsDer.map((a) => sha256(a).toString('hex')).join(',');
    d = { anchorsPem: m.anchorsDer.map((der) => derToPem(der)), key: `${m.name}\u0000${m.host}:${m.port}\u0000${m.servername}\u0000${anchors}` };
    derived.set(m, d);
  }
  return d;
}

/** The market's registered anchors, PEM (what OpenSSL's `ca` takes). */
export function marketAnchorsPem(market: MarketTarget): string[] {
  return derivedOf(market).anchorsPem;
}

/** Where and how to reach a market: address, SNI and ALPN (tickets are bound to both), the chain verified. Context options apart. */
export function marketConnectOptions(market: MarketTarget): tls.ConnectionOptions {
  return {
    host: market.host,
    port: market.port,
    servername: market.servername,
    rejectUnauthorized: true,
    ALPNProtocols: market.alpn ?? [...DEFAULT_ALPN],
    lookup: marketLookup, // the host's address kept a few seconds, not looked up per connection
  };
}

/** TLS 1.3 to a market, verified against its registered anchors, with its SNI and ALPN. */
export function marketTlsOptions(market: MarketTarget): tls.ConnectionOptions {
  return { ...marketConnectOptions(market), minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ca: marketAnchorsPem(market) };
}

/** One pre-flight connection; resolves with the verified chain or rejects with a ProxyError. */
export function fetchMarketChain(p: FetchChainParams): Promise<MarketChain> {
  const { market } = p;
  const context = { market: market.name, host: market.host, port: market.port, stage: 'market-chain' as const };
  return new Promise((resolve, reject) => {
    let settled = false;
    const socket = tls.connect(marketTlsOptions(market));
    const finish = (error: ProxyError | null, chain?: MarketChain): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(chain!);
    };
    const timer = setTimeout(() => {
      finish(
        new ProxyError(ProxyErrorCode.MarketUnreachable, `Market ${market.name} did not complete a TLS handshake in time`, {
          ...context,
          reason: 'timeout',
        }),
      );
    }, p.connectTimeoutMs);
    socket.once('secureConnect', () => {
      const chainDer = chainFromPeer(socket.getPeerCertificate(true));
      if (chainDer.length === 0) {
        finish(new ProxyError(ProxyErrorCode.MarketUntrusted, `Market ${market.name} sent no certificate`, context));
        return;
      }
      const chain = describeChain(chainDer);
      p.logger.debug({ ...context, certificates: chainDer.length, leaf: chain.leafFingerprint.toString('hex') }, 'market chain fetched');
      // 'secureConnect' comes only after Node's checkServerIdentity accepted the leaf for the servername.
      finish(null, { ...chain, hostNameCheckedFor: market.servername });
    });
    socket.on('error', (e) => {
      const tlsCode = errorCodeOf(e);
      const code = classifyServerSideFailure(tlsCode);
      finish(new ProxyError(code, `Pre-flight to market ${market.name} failed: ${tlsCode ?? 'error'}`, { ...context, tlsCode }, { cause: e }));
    });
    socket.once('close', () => {
      finish(
        new ProxyError(ProxyErrorCode.MarketUnreachable, `Market ${market.name} closed the connection during the handshake`, {
          ...context,
          reason: 'closed',
        }),
      );
    });
  });
}

/** Identifies a market registration: a changed host, port, name or anchor set is another entry. */
export function marketKey(m: MarketTarget): string {
  return derivedOf(m).key;
}

/** Verified chains per market, until their first expiry or a leaf change. */
export class MarketChainCache {
  readonly #fetch: MarketChainFetcher;
  readonly #entries = new Map<string, MarketChain>();
  readonly #inflight = new Map<string, Promise<MarketChain>>();

  constructor(fetch: MarketChainFetcher = fetchMarketChain) {
    this.#fetch = fetch;
  }

  /** The cached chain if it is still valid at `now` (Unix ms), else a fresh one. */
  async get(p: FetchChainParams & { now: number }): Promise<{ chain: MarketChain; cached: boolean }> {
    const key = marketKey(p.market);
    const entry = this.#entries.get(key);
    if (entry !== undefined && p.now < entry.expiresAt) return { chain: entry, cached: true };
    return { chain: await this.#fetchOnce(key, p), cached: false };
  }

  /**
   * The authenticated handshake saw `seenLeafFingerprint`: drop the entry if it
   * holds another leaf and fetch the chain once more, so the next
   * authorization has the card check what the market now presents.
   */
  async replaceIfChanged(p: FetchChainParams, seenLeafFingerprint: Buffer): Promise<void> {
    const key = marketKey(p.market);
    const entry = this.#entries.get(key);
    if (entry?.leafFingerprint.equals(seenLeafFingerprint)) return;
    this.#entries.delete(key);
    await this.#fetchOnce(key, p);
  }

  invalidate(market: MarketTarget): void {
    this.#entries.delete(marketKey(market));
  }

  #fetchOnce(key: string, p: FetchChainParams): Promise<MarketChain> {
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = this.#fetch(p)
        .then((chain) => {
          this.#entries.set(key, chain);
          return chain;
        })
        .finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }
}
