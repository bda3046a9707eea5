/**
 * The TLS client context of one credential (ephemeral key + card-signed leaf)
 * towards one market: TLS 1.3 only, the credential's key and chain, the
 * market's registered anchors.
 *
 * Building it is most of the gateway's CPU for a market connection after the
 * handshake itself (OpenSSL 3 decodes the PEM key, the chain and the anchors
 * into a fresh SSL_CTX: about 1 ms on a desktop core, docs/PERFORMANCE.md), so it
 * is built once per credential and kept with it; a reused credential
 * (`reuseSessionCertificate`) reuses its context. `tls.connect` with `key`,
 * `cert` and `ca` would build a new one for every connection.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import { marketAnchorsPem } from './market-chain.js';
import type { MarketTarget } from './proxy-options.js';

export interface ClientContextParams {
  market: MarketTarget;
  /** PKCS#8 PEM. Secret: never logged. */
  keyPem: string;
  /** The session leaf followed by the card certificate, PEM. */
  certificateChainPem: string;
}

export function marketClientContext(p: ClientContextParams): SecureContext {
  return createSecureContext({
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    key: p.keyPem,
    cert: p.certificateChainPem,
    ca: marketAnchorsPem(p.market),
  });
}
