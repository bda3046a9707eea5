/**
 * The short-lived client leaf the card signs (docs/ARCHITECTURE.md, the delegated
 * handshake, step 2): built here as a TBSCertificate (RFC 5280 §4.1) that
 * passes the card's session-certificate rules (PROTOCOL.md), then assembled
 * with the card's signature into a Certificate.
 *
 * - issuer: the card certificate's subject, byte for byte (the card compares
 *   bytes; the encoded TBS is checked against the raw subject before use);
 * - validity: [now − backdate, now + lifetime], whole seconds, at most 15 min;
 * - subjectAltName: exactly one dNSName, the market's; EKU exactly clientAuth;
 *   basicConstraints cA FALSE; keyUsage digitalSignature;
 * - key identifiers: SKI of the ephemeral key, AKI = the card's SKI
 *   (RFC 5280 §4.2.1.1/§4.2.1.2), so OpenSSL links leaf → card certificate.
 */
import { createHash, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_clientAuth,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { OctetString } from '@peculiar/asn1-schema';
import { childrenOf, encodeTlv, readOuterSequence, type Tlv } from './der.js';
import { ProxyError, ProxyErrorCode } from './proxy-error.js';

export const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
/** The card signs at most 15 minutes of validity (PROTOCOL.md, session-certificate rules). */
export const MAX_VALIDITY_SECONDS = 900;
/** Start this long before "now", for markets whose clock is a little behind. */
export const BACKDATE_SECONDS = 60;
const ID_AT_COMMON_NAME = '2.5.4.3';

export interface SessionTbsRequest {
  /** DER of the card certificate: its subject becomes the issuer, its SKI the AKI. */
  cardCertificate: Buffer;
  /** The ephemeral public key (P-256) generated for this authorization. */
  subjectPublicKey: KeyObject;
  /** The market's DNS name (one the card verified). */
  dnsName: string;
  /** "Now", Unix ms (the same time given to VERIFY CERTIFICATE). */
  now: number;
  /** Validity after now, seconds (60..900). */
  lifetimeSeconds: number;
}

export interface SessionTbs {
  der: Buffer;
  /** RFC 4514 form of the subject, e.g. `CN=homegate session 1f2e3d4c`. */
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

function extension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** The raw DER of the issuer or subject Name inside a TBSCertificate TLV. */
function rawName(buf: Uint8Array, tbs: Tlv | null | undefined, which: 'issuer' | 'subject'): Buffer | null {
  if (tbs == null || tbs.tag !== 0x30) return null;
  const fields = childrenOf(buf, tbs);
  if (fields === null) return null;
  const skip = fields[0]?.tag === 0xa0 ? 1 : 0; // explicit [0] version
  const f = fields[skip + (which === 'issuer' ? 2 : 4)];
  return f === undefined || f.tag !== 0x30 ? null : Buffer.from(buf.subarray(f.start, f.end));
}

/** The card certificate's subject Name exactly as encoded there. */
export function cardSubjectDer(cardCertificate: Buffer): Buffer {
  const cert = readOuterSequence(cardCertificate);
  const raw = rawName(cardCertificate, cert && childrenOf(cardCertificate, cert)?.[0], 'subject');
  if (raw === null) throw new ProxyError(ProxyErrorCode.Internal, 'The card certificate is not DER X.509', { stage: 'session-certificate' });
  return raw;
}

/** What every session leaf needs from the card certificate, parsed once per certificate (not per authorization). */
export interface CardCertificateFacts {
  certificate: Certificate;
  /** Its subject Name, byte for byte: the leaf's issuer. */
  subjectDer: Buffer;
  /** Its subject key identifier: the leaf's AKI. */
  keyIdentifier: Buffer;
  /** Its public key: checks the card's signature on each leaf. */
  publicKey: KeyObject;
}

// Keyed by the Buffer the card service read once per insertion; a new card is a new Buffer.
const cardFactsCache = new WeakMap<Buffer, CardCertificateFacts>();

export function cardCertificateFacts(cardCertificate: Buffer): CardCertificateFacts {
  let facts = cardFactsCache.get(cardCertificate);
  if (facts !== undefined) return facts;
  let certificate: Certificate;
  let publicKey: KeyObject;
  try {
    certificate = AsnConvert.parse(cardCertificate, Certificate);
    publicKey = new X509Certificate(cardCertificate).publicKey;
  } catch (e) {
    throw new ProxyError(ProxyErrorCode.Internal, 'The card certificate is not DER X.509', { stage: 'session-certificate' }, { cause: e });
  }
  facts = { certificate, subjectDer: cardSubjectDer(cardCertificate), keyIdentifier: cardKeyIdentifier(certificate), publicKey };
  cardFactsCache.set(cardCertificate, facts);
  return facts;
}

function keyIdentifierOf(spki: SubjectPublicKeyInfo): Buffer {
  // RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value.
  return createHash('sha1').update(Buffer.from(spki.subjectPublicKey)).digest();
}

function cardKeyIdentifier(card: Certificate): Buffer {
  const ski = card.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_subjectKeyIdentifier);
  if (ski) return Buffer.from(AsnConvert.parse(ski.extnValue, SubjectKeyIdentifier).buffer);
  return keyIdentifierOf(card.tbsCertificate.subjectPublicKeyInfo);
}

function positiveSerial(): ArrayBuffer {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f || 0x01; // positive and minimal (RFC 5280 §4.1.2.2)
  return new Uint8Array(b).buffer;
}

/** Build the TBSCertificate (DER) for one authorization. */
export function buildSessionTbs(req: SessionTbsRequest): SessionTbs {
  if (!Number.isInteger(req.lifetimeSeconds) || req.lifetimeSeconds < 60 || req.lifetimeSeconds > MAX_VALIDITY_SECONDS) {
    throw new ProxyError(ProxyErrorCode.Internal, 'Session certificate lifetime must be 60..900 s', { stage: 'session-certificate' });
  }
  const card = cardCertificateFacts(req.cardCertificate);
  const nowSeconds = Math.floor(req.now / 1000);
  const backdate = Math.min(BACKDATE_SECONDS, MAX_VALIDITY_SECONDS - req.lifetimeSeconds);
  const notBefore = new Date((nowSeconds - backdate) * 1000);
  const notAfter = new Date((nowSeconds + req.lifetimeSeconds) * 1000);
  const commonName = `homegate session ${randomBytes(4).toString('hex')}`;
  const spki = AsnConvert.parse(req.subjectPublicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);

  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: positiveSerial(),
    signature: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    issuer: card.certificate.tbsCertificate.subject,
    validity: new Validity({ notBefore, notAfter }),
    subject: new Name([
      new RelativeDistinguishedName([new AttributeTypeAndValue({ type: ID_AT_COMMON_NAME, value: new AttributeValue({ utf8String: commonName }) })]),
    ]),
    subjectPublicKeyInfo: spki,
    extensions: new Extensions([
      extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
      extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
      extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_clientAuth])),
      extension(id_ce_subjectAltName, false, new SubjectAlternativeName([new GeneralName({ dNSName: req.dnsName })])),
      extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifierOf(spki))),
      extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(card.keyIdentifier) })),
    ]),
  });
  const der = Buffer.from(AsnConvert.serialize(tbs));
  // The card compares the issuer with its subject byte for byte: make sure re-encoding kept it.
  const issuer = rawName(der, readOuterSequence(der), 'issuer');
  if (issuer === null || !issuer.equals(card.subjectDer)) {
    throw new ProxyError(ProxyErrorCode.Internal, 'The encoded issuer differs from the card certificate subject', { stage: 'session-certificate' });
  }
  return { der, subject: `CN=${commonName}`, notBefore, notAfter };
}

/**
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 * (RFC 5280 §4.1), with the TBS bytes exactly as the card signed them and
 * ecdsa-with-SHA256 without parameters (RFC 5758 §3.2).
 */
export function assembleCertificate(tbsDer: Buffer, signatureDer: Buffer): Buffer {
  const algorithm = Buffer.from(AsnConvert.serialize(new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 })));
  const bitString = encodeTlv(0x03, Buffer.from([0x00]), signatureDer); // 0 unused bits
  return encodeTlv(0x30, tbsDer, algorithm, bitString);
}
