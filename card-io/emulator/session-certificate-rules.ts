/**
 * The session-certificate rules (PROTOCOL.md): what a TBSCertificate must look
 * like before the card signs it with its key. The card is a constrained CA
 * (pathLen 0) that markets trust, so these rules are all that stands between
 * the gateway and a certificate naming any host: a short-lived clientAuth leaf
 * for exactly the market whose chain the card itself verified in this release.
 *
 * The TBS must be DER: it is parsed and re-encoded, and the bytes must match,
 * so that what the card checked is byte for byte what it signs (no trailing
 * data, no alternative encodings a verifier might read differently).
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { id_kp_clientAuth, TBSCertificate } from '@peculiar/asn1-x509';
import { decodeExtensions, dnsNamesOf } from './certificate-parse.js';
import type { VerifiedMarket } from './card-state.js';

export const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
export const MAX_SESSION_VALIDITY_MS = 15 * 60 * 1000;
export const MAX_START_SKEW_MS = 5 * 60 * 1000;

export interface SessionCertificateContext {
  /** DER of the card certificate's subject name: the session certificate's issuer. */
  cardSubject: Buffer;
  market: VerifiedMarket;
}

/** Null when the TBS may be signed, else a short reason for the log (never data). */
export function checkSessionCertificate(tbsDer: Buffer, ctx: SessionCertificateContext): string | null {
  let tbs: TBSCertificate;
  try {
    tbs = AsnConvert.parse(tbsDer, TBSCertificate);
    if (!Buffer.from(AsnConvert.serialize(tbs)).equals(tbsDer)) return 'not DER';
  } catch {
    return 'not a TBSCertificate';
  }
  if (tbs.signature.algorithm !== ECDSA_WITH_SHA256 || tbs.signature.parameters != null) {
    return 'signature algorithm is not ecdsa-with-SHA256';
  }
  if (!Buffer.from(AsnConvert.serialize(tbs.issuer)).equals(ctx.cardSubject)) return 'issuer is not the card';

  const t = ctx.market.time * 1000;
  const notBefore = tbs.validity.notBefore.getTime().getTime();
  const notAfter = tbs.validity.notAfter.getTime().getTime();
  if (notAfter < notBefore || notAfter - notBefore > MAX_SESSION_VALIDITY_MS) return 'validity too long';
  if (notBefore < t - MAX_START_SKEW_MS || notBefore > t + MAX_START_SKEW_MS) return 'validity starts too far from the time';
  if (notAfter < t) return 'validity has ended';

  let ext;
  try {
    ext = decodeExtensions(tbs);
  } catch {
    return 'malformed extensions';
  }
  if (ext.basicConstraints?.ca === true) return 'a CA certificate';
  const eku = ext.extendedKeyUsage;
  if (eku === null || eku.length !== 1 || eku[0] !== id_kp_clientAuth) return 'extendedKeyUsage is not exactly clientAuth';
  const names = dnsNamesOf(ext.subjectAltName);
  if (names.length === 0) return 'no dNSName';
  const verified = new Set(ctx.market.dnsNames.map((n) => n.toLowerCase()));
  if (!names.every((n) => verified.has(n.toLowerCase()))) return 'a dNSName is not the verified market';
  return null;
}
