/**
 * Who may authorize a CANCEL (PROTOCOL.md, "Purse", claim 5): the market's
 * signing certificate must be issued directly by a trust anchor on the card,
 * be valid at the record's time, not be a CA, carry digitalSignature when it
 * has keyUsage, and name the record's market as a dNSName. Failures use the
 * VERIFY CERTIFICATE reason bytes (certificate-chain.ts), in this order:
 *
 *   06 malformed → 01 no anchor by that name → 02 no anchor's signature →
 *   03 certificate or anchor not valid at the time → 04 the anchor is no CA →
 *   05 a CA, no digitalSignature, or the market is not among its dNSNames.
 *
 * dNSNames compare ASCII case-insensitively (RFC 4343).
 */
import type { KeyObject } from 'node:crypto';
import { KeyUsageFlags } from '@peculiar/asn1-x509';
import { RejectReason } from './certificate-chain.js';
import { parseCertificate, type ParsedCertificate } from './certificate-parse.js';

export type SignerResult = { ok: true; publicKey: KeyObject } | { ok: false; reason: RejectReason };

function signedBy(cert: ParsedCertificate, issuerKey: KeyObject): boolean {
  try {
    return cert.x509.verify(issuerKey);
  } catch {
    return false;
  }
}

function validAt(cert: ParsedCertificate, ms: number): boolean {
  return ms >= cert.notBefore && ms <= cert.notAfter;
}

function isCa(cert: ParsedCertificate): boolean {
  const usageOk = cert.keyUsage === null || (cert.keyUsage & KeyUsageFlags.keyCertSign) !== 0;
  return cert.basicConstraints?.ca === true && usageOk;
}

function namesMarket(cert: ParsedCertificate, market: string): boolean {
  const wanted = market.toLowerCase();
  return cert.dnsNames.some((n) => n.toLowerCase() === wanted);
}

/** Check the market's signing certificate (DER) for a record of `market` made at `timeSeconds`. */
export function checkMarketSigner(der: Buffer, anchorsDer: readonly Buffer[], timeSeconds: number, market: string): SignerResult {
  const cert = parseCertificate(der);
  if (cert === null) return { ok: false, reason: RejectReason.Malformed };
  const named = anchorsDer.flatMap((a) => parseCertificate(a) ?? []).filter((a) => a.subject.equals(cert.issuer));
  if (named.length === 0) return { ok: false, reason: RejectReason.Untrusted };
  const anchor = named.find((a) => signedBy(cert, a.x509.publicKey));
  if (anchor === undefined) return { ok: false, reason: RejectReason.BadSignature };
  const ms = timeSeconds * 1000;
  if (!validAt(cert, ms) || !validAt(anchor, ms)) return { ok: false, reason: RejectReason.Expired };
  if (!isCa(anchor)) return { ok: false, reason: RejectReason.NotACa };
  const signs = cert.keyUsage === null || (cert.keyUsage & KeyUsageFlags.digitalSignature) !== 0;
  if (cert.basicConstraints?.ca === true || !signs || !namesMarket(cert, market)) {
    return { ok: false, reason: RejectReason.LeafUsage };
  }
  return { ok: true, publicKey: cert.x509.publicKey };
}
