/**
 * VERIFY CERTIFICATE's chain check (PROTOCOL.md, "VERIFY CERTIFICATE rules and
 * rejection reasons"), after the path validation of RFC 5280 §6.1 cut down to
 * what the card promises. Checks run in this order and the first failure
 * decides the reason byte:
 *
 *   06 parse → 02 links between the given certificates → 01/02 the anchor →
 *   03 validity at the given time → 04 CA constraints → 05 leaf usage.
 */
import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { id_kp_serverAuth, KeyUsageFlags } from '@peculiar/asn1-x509';
import { parseCertificate, type ParsedCertificate } from './certificate-parse.js';

export const MAX_CHAIN_LENGTH = 4;

/** The reason byte sent with `6300`. */
export const RejectReason = {
  Untrusted: 0x01,
  BadSignature: 0x02,
  Expired: 0x03,
  NotACa: 0x04,
  LeafUsage: 0x05,
  Malformed: 0x06,
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

export type ChainResult = { ok: true; leafFingerprint: Buffer; dnsNames: string[] } | { ok: false; reason: RejectReason };

export function sha256(der: Buffer): Buffer {
  return createHash('sha256').update(der).digest();
}

function signedBy(cert: ParsedCertificate, issuerKey: KeyObject): boolean {
  try {
    return cert.x509.verify(issuerKey);
  } catch {
    return false;
  }
}

/** The anchor that issued `top`, null when `top` is an anchor itself, or a reject reason. */
function findAnchor(top: ParsedCertificate, anchors: ParsedCertificate[]): ParsedCertificate | null | RejectReason {
  const topPrint = sha256(top.der);
  if (anchors.some((a) => sha256(a.der).equals(topPrint))) return null;
  const named = anchors.filter((a) => a.subject.equals(top.issuer));
  if (named.length === 0) return RejectReason.Untrusted;
  return named.find((a) => signedBy(top, a.x509.publicKey)) ?? RejectReason.BadSignature;
}

function isUsableCa(cert: ParsedCertificate, casBelow: number): boolean {
  const bc = cert.basicConstraints;
  if (bc === null || !bc.ca) return false;
  if (bc.pathLen !== undefined && casBelow > bc.pathLen) return false;
  return cert.keyUsage === null || (cert.keyUsage & KeyUsageFlags.keyCertSign) !== 0;
}

function isServerLeaf(leaf: ParsedCertificate): boolean {
  if (leaf.basicConstraints?.ca === true) return false;
  if (leaf.dnsNames.length === 0) return false;
  if (leaf.extendedKeyUsage !== null && !leaf.extendedKeyUsage.includes(id_kp_serverAuth)) return false;
  return leaf.keyUsage === null || (leaf.keyUsage & KeyUsageFlags.digitalSignature) !== 0;
}

/**
 * Check `chain` (DER, leaf first) at `timeSeconds` against the card's trust
 * anchors (DER). Anchors that no longer parse are ignored.
 */
export function verifyCertificateChain(timeSeconds: number, chain: Buffer[], anchorsDer: readonly Buffer[]): ChainResult {
  if (chain.length === 0 || chain.length > MAX_CHAIN_LENGTH) return { ok: false, reason: RejectReason.Malformed };
  const certs: ParsedCertificate[] = [];
  for (const der of chain) {
    const c = parseCertificate(der);
    if (c === null) return { ok: false, reason: RejectReason.Malformed };
    certs.push(c);
  }
  for (let i = 0; i + 1 < certs.length; i++) {
    const [child, parent] = [certs[i]!, certs[i + 1]!];
    if (!child.issuer.equals(parent.subject) || !signedBy(child, parent.x509.publicKey)) {
      return { ok: false, reason: RejectReason.BadSignature };
    }
  }
  const anchors = anchorsDer.flatMap((der) => parseCertificate(der) ?? []);
  const anchor = findAnchor(certs[certs.length - 1]!, anchors);
  if (typeof anchor === 'number') return { ok: false, reason: anchor };
  const path = anchor === null ? certs : [...certs, anchor];

  const t = timeSeconds * 1000;
  if (path.some((c) => t < c.notBefore || t > c.notAfter)) return { ok: false, reason: RejectReason.Expired };
  // Everything above the leaf must be a CA; a CA at index i has i - 1 CAs below it.
  for (let i = 1; i < path.length; i++) {
    if (!isUsableCa(path[i]!, i - 1)) return { ok: false, reason: RejectReason.NotACa };
  }
  const leaf = certs[0]!;
  if (!isServerLeaf(leaf)) return { ok: false, reason: RejectReason.LeafUsage };
  return { ok: true, leafFingerprint: sha256(leaf.der), dnsNames: leaf.dnsNames };
}
