/**
 * Reading X.509 certificates (RFC 5280) on the card. Two parsers must both
 * accept a certificate: `@peculiar/asn1-x509` for the fields the card checks,
 * and Node's `X509Certificate` (OpenSSL) for the signature, the same code that
 * verifies it in TLS. Anything either rejects is "malformed".
 *
 * Names are kept as their DER encoding: the card chains names by comparing
 * bytes. (RFC 5280 §7.1 allows a looser comparison; byte equality is what
 * issuers emit in practice and what a small card can afford.)
 */
import { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  KeyUsage,
  SubjectAlternativeName,
  type GeneralName,
  type TBSCertificate,
} from '@peculiar/asn1-x509';

export interface CertificateExtensions {
  basicConstraints: { ca: boolean; pathLen?: number } | null;
  /** KeyUsage bits as `KeyUsageFlags` (digitalSignature = 1, keyCertSign = 32), or null when absent. */
  keyUsage: number | null;
  extendedKeyUsage: string[] | null;
  subjectAltName: GeneralName[] | null;
}

export interface ParsedCertificate extends CertificateExtensions {
  der: Buffer;
  x509: X509Certificate;
  subject: Buffer;
  issuer: Buffer;
  notBefore: number;
  notAfter: number;
  /** The dNSName entries of subjectAltName. */
  dnsNames: string[];
}

/** Decode the extensions the card looks at; throws on malformed or repeated ones. */
export function decodeExtensions(tbs: TBSCertificate): CertificateExtensions {
  const out: CertificateExtensions = { basicConstraints: null, keyUsage: null, extendedKeyUsage: null, subjectAltName: null };
  const seen = new Set<string>();
  for (const ext of tbs.extensions ?? []) {
    // RFC 5280 §4.2: a certificate MUST NOT include more than one instance of an extension.
    if (seen.has(ext.extnID)) throw new Error(`repeated extension ${ext.extnID}`);
    seen.add(ext.extnID);
    const value = ext.extnValue.buffer;
    switch (ext.extnID) {
      case id_ce_basicConstraints: {
        const bc = AsnConvert.parse(value, BasicConstraints);
        out.basicConstraints = bc.pathLenConstraint === undefined ? { ca: bc.cA } : { ca: bc.cA, pathLen: bc.pathLenConstraint };
        break;
      }
      case id_ce_keyUsage:
        out.keyUsage = AsnConvert.parse(value, KeyUsage).toNumber();
        break;
      case id_ce_extKeyUsage:
        out.extendedKeyUsage = [...AsnConvert.parse(value, ExtendedKeyUsage)];
        break;
      case id_ce_subjectAltName:
        out.subjectAltName = [...AsnConvert.parse(value, SubjectAlternativeName)];
        break;
    }
  }
  return out;
}

export function dnsNamesOf(san: GeneralName[] | null): string[] {
  return (san ?? []).flatMap((n) => (n.dNSName === undefined ? [] : [n.dNSName]));
}

/**
 * Certificates parsed lately, by their exact DER bytes: the same market chain,
 * the anchors and the card's own certificate come back at every
 * authorization, and parsing (two ASN.1 parsers) costs about a millisecond
 * each where everything else the card does with them costs a tenth of that.
 * Parsing is a pure function of the bytes, so this changes no answer. Only
 * certificates that parse are kept, at most PARSED_KEPT, the least recently
 * used dropped first.
 */
const parsed = new Map<string, ParsedCertificate>();
const PARSED_KEPT = 16;

/** Parse one DER certificate; null when malformed. The result is shared: never change it. */
export function parseCertificate(der: Buffer): ParsedCertificate | null {
  const key = der.toString('latin1');
  const known = parsed.get(key);
  if (known !== undefined) {
    parsed.delete(key);
    parsed.set(key, known);
    return known;
  }
  // A copy: `der` may be a view into a command's buffer.
  const result = parseUncached(Buffer.from(der));
  if (result === null) return null;
  parsed.set(key, result);
  for (const oldest of parsed.keys()) {
    if (parsed.size <= PARSED_KEPT) break;
    parsed.delete(oldest);
  }
  return result;
}

function parseUncached(der: Buffer): ParsedCertificate | null {
  try {
    const cert = AsnConvert.parse(der, Certificate);
    const tbs = cert.tbsCertificate;
    const x509 = new X509Certificate(der);
    const ext = decodeExtensions(tbs);
    return {
      ...ext,
      der,
      x509,
      subject: Buffer.from(AsnConvert.serialize(tbs.subject)),
      issuer: Buffer.from(AsnConvert.serialize(tbs.issuer)),
      notBefore: tbs.validity.notBefore.getTime().getTime(),
      notAfter: tbs.validity.notAfter.getTime().getTime(),
      dnsNames: dnsNamesOf(ext.subjectAltName),
    };
  } catch {
    return null;
  }
}

/** Length of the DER TLV at `offset` (tag, length, value), or null if it does not fit. */
function tlvLength(b: Buffer, offset: number): number | null {
  if (offset + 2 > b.length) return null;
  const first = b[offset + 1]!;
  if (first < 0x80) return offset + 2 + first <= b.length ? 2 + first : null;
  const n = first & 0x7f;
  if (n === 0 || n > 3 || offset + 2 + n > b.length) return null; // no indefinite form, at most 16 MB
  let len = 0;
  for (let i = 0; i < n; i++) len = (len << 8) | b[offset + 2 + i]!;
  const total = 2 + n + len;
  return offset + total <= b.length ? total : null;
}

/** Split concatenated DER SEQUENCEs (`cert ‖ cert ‖ …`); null when they do not tile the data. */
export function splitDerSequences(data: Buffer): Buffer[] | null {
  const out: Buffer[] = [];
  let i = 0;
  while (i < data.length) {
    if (data[i] !== 0x30) return null;
    const len = tlvLength(data, i);
    if (len === null) return null;
    out.push(data.subarray(i, i + len));
    i += len;
  }
  return out;
}
