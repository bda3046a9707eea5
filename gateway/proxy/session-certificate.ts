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
// DER by hand (der.ts): the ASN.1 schema library is not loaded into the gateway for the few fixed
// structures of one certificate (its byte-for-byte equality is tested: test/gateway/session-tbs-der.test.ts).
import { createHash, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { childrenOf, encodeTlv, readOuterSequence, readTlv, type Tlv } from './der.js';
import { ProxyError, ProxyErrorCode } from './proxy-error.js';

export const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
/** The card signs at most 15 minutes of validity (PROTOCOL.md, session-certificate rules). */
export const MAX_VALIDITY_SECONDS = 900;
/** Start this long before "now", for markets whose clock is a little behind. */
export const BACKDATE_SECONDS = 60;

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
  let publicKey: KeyObject;
  try {
    publicKey = new X509Certificate(cardCertificate).publicKey;
  } catch (e) {
    throw new ProxyError(ProxyErrorCode.Internal, 'The card certificate is not DER X.509', { stage: 'session-certificate' }, { cause: e });
  }
  const keyIdentifier = subjectKeyIdentifierOf(cardCertificate) ?? sha1(publicKeyBits(publicKey.export({ type: 'spki', format: 'der' })));
  facts = { subjectDer: cardSubjectDer(cardCertificate), keyIdentifier, publicKey };
  cardFactsCache.set(cardCertificate, facts);
  return facts;
}

function sha1(bytes: Uint8Array): Buffer {
  return createHash('sha1').update(bytes).digest();
}

/** id-ce-subjectKeyIdentifier, 2.5.29.14 (RFC 5280 §4.2.1.2). */
const OID_SUBJECT_KEY_IDENTIFIER = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0e]);

/** The keyIdentifier of a certificate's subjectKeyIdentifier extension, or null when it has none. */
function subjectKeyIdentifierOf(certificate: Buffer): Buffer | null {
  const cert = readOuterSequence(certificate);
  const tbs = cert && childrenOf(certificate, cert)?.[0];
  const fields = tbs && childrenOf(certificate, tbs);
  const explicit = fields?.find((f) => f.tag === 0xa3); // extensions [3] EXPLICIT
  const list = explicit && childrenOf(certificate, explicit)?.[0];
  for (const extension of (list && childrenOf(certificate, list)) ?? []) {
    const parts = childrenOf(certificate, extension);
    const oid = parts?.[0];
    const value = parts?.[parts.length - 1];
    if (!oid || !value || value.tag !== 0x04) continue;
    if (!Buffer.from(certificate.subarray(oid.start, oid.end)).equals(OID_SUBJECT_KEY_IDENTIFIER)) continue;
    const keyId = readTlv(certificate, value.contentStart, value.end); // KeyIdentifier ::= OCTET STRING
    return keyId && keyId.tag === 0x04 ? Buffer.from(certificate.subarray(keyId.contentStart, keyId.end)) : null;
  }
  return null;
}

/** 16 random bytes as a positive, minimal INTEGER's content (RFC 5280 §4.1.2.2). */
function positiveSerial(b: Buffer): Buffer {
  b[0] = b[0]! & 0x7f || 0x01;
  return b;
}

/**
 * The parts every session TBS shares, as DER constants; the parts that change
 * per authorization (serial, validity, subject, key, SAN, key identifiers)
 * are written below. Building the TBS through ASN.1 schema objects cost about
 * 1 ms of CPU per authorization (docs/PERFORMANCE.md); this costs a few tens
 * of µs, and test/gateway/session-tbs-der.test.ts holds it byte for byte to
 * what the schema library (@peculiar/asn1-x509) encodes for the same fields.
 */
const FIXED = {
  /** [0] EXPLICIT Version v3 (RFC 5280 §4.1.2.1). */
  version: Buffer.from('a003020102', 'hex'),
  /** AlgorithmIdentifier ecdsa-with-SHA256, no parameters (RFC 5758 §3.2). */
  signatureAlgorithm: Buffer.from('300a06082a8648ce3d040302', 'hex'),
  /** basicConstraints, critical, cA FALSE (the DEFAULT, so omitted: X.690 §11.5). */
  basicConstraints: Buffer.from('300c0603551d130101ff04023000', 'hex'),
  /** keyUsage, critical, digitalSignature only (named bit list without trailing zeros: X.690 §11.2.2). */
  keyUsage: Buffer.from('300e0603551d0f0101ff040403020780', 'hex'),
  /** extKeyUsage, id-kp-clientAuth. */
  extKeyUsage: Buffer.from('30130603551d25040c300a06082b06010505070302', 'hex'),
};
/** OBJECT IDENTIFIERs (X.690 §8.19) of the parts written by hand. */
const OID = {
  commonName: Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]), // 2.5.4.3
  subjectAltName: Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x11]), // 2.5.29.17
  subjectKeyIdentifier: Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0e]), // 2.5.29.14
  authorityKeyIdentifier: Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x23]), // 2.5.29.35
};

/** Time (RFC 5280 §4.1.2.5): UTCTime YYMMDDHHMMSSZ through 2049, GeneralizedTime from 2050. */
function derTime(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19);
  const year = d.getUTCFullYear();
  return year < 2050 ? encodeTlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'latin1')) : encodeTlv(0x18, Buffer.from(`${digits}Z`, 'latin1'));
}

/** A non-critical Extension (RFC 5280 §4.1): SEQUENCE { extnID, extnValue OCTET STRING }. */
function plainExtension(oid: Buffer, valueDer: Buffer): Buffer {
  return encodeTlv(0x30, oid, encodeTlv(0x04, valueDer));
}

/** The subjectPublicKey BIT STRING's value (without the unused-bits octet) of an SPKI, for the key identifier. */
function publicKeyBits(spkiDer: Buffer): Buffer {
  const outer = readOuterSequence(spkiDer);
  const bits = outer ? childrenOf(spkiDer, outer)?.[1] : undefined;
  if (bits?.tag !== 0x03) throw new ProxyError(ProxyErrorCode.Internal, 'A public key is not a DER SubjectPublicKeyInfo', { stage: 'session-certificate' });
  return spkiDer.subarray(bits.contentStart + 1, bits.end);
}

/** SubjectPublicKeyInfo of id-ecPublicKey on prime256v1 (RFC 5480 §2), up to the BIT STRING's uncompressed point. */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

/**
 * The key's SubjectPublicKeyInfo, DER. For a P-256 key it is written from the
 * key's JWK coordinates (RFC 5480 §2: the fixed algorithm, then 0x04 ‖ x ‖ y):
 * OpenSSL 3's SPKI encoder costs ≈ 0.11 ms per call here, the JWK export ≈ 5 µs
 * (docs/PERFORMANCE.md, third pass). test/gateway/session-tbs-der.test.ts holds
 * it byte for byte to `export({ type: 'spki', format: 'der' })`; any other key
 * is exported by OpenSSL.
 */
export function subjectPublicKeyInfoDer(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty === 'EC' && jwk.crv === 'P-256' && typeof jwk.x === 'string' && typeof jwk.y === 'string') {
    const x = Buffer.from(jwk.x, 'base64url');
    const y = Buffer.from(jwk.y, 'base64url');
    if (x.length === 32 && y.length === 32) return Buffer.concat([P256_SPKI_PREFIX, Buffer.from([0x04]), x, y]);
  }
  return key.export({ type: 'spki', format: 'der' });
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
  const random = randomBytes(20); // one call: 16 bytes of serial, 4 of the name
  const commonName = `homegate session ${random.subarray(16).toString('hex')}`;
  const spki = subjectPublicKeyInfoDer(req.subjectPublicKey);
  // RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value.
  const keyIdentifier = sha1(publicKeyBits(spki));

  const subject = encodeTlv(0x30, encodeTlv(0x31, encodeTlv(0x30, OID.commonName, encodeTlv(0x0c, Buffer.from(commonName, 'utf8')))));
  const extensions = encodeTlv(
    0xa3,
    encodeTlv(
      0x30,
      FIXED.basicConstraints,
      FIXED.keyUsage,
      FIXED.extKeyUsage,
      plainExtension(OID.subjectAltName, encodeTlv(0x30, encodeTlv(0x82, Buffer.from(req.dnsName, 'latin1')))), // dNSName [2] IA5String
      plainExtension(OID.subjectKeyIdentifier, encodeTlv(0x04, keyIdentifier)),
      plainExtension(OID.authorityKeyIdentifier, encodeTlv(0x30, encodeTlv(0x80, card.keyIdentifier))), // keyIdentifier [0]
    ),
  );
  const der = encodeTlv(
    0x30,
    FIXED.version,
    encodeTlv(0x02, positiveSerial(random.subarray(0, 16))),
    FIXED.signatureAlgorithm,
    card.subjectDer, // the card compares the issuer with its subject byte for byte: its own bytes
    encodeTlv(0x30, derTime(notBefore), derTime(notAfter)),
    subject,
    spki,
    extensions,
  );
  return { der, subject: `CN=${commonName}`, notBefore, notAfter };
}

/**
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 * (RFC 5280 §4.1), with the TBS bytes exactly as the card signed them and
 * ecdsa-with-SHA256 without parameters (RFC 5758 §3.2).
 */
export function assembleCertificate(tbsDer: Buffer, signatureDer: Buffer): Buffer {
  const bitString = encodeTlv(0x03, Buffer.from([0x00]), signatureDer); // 0 unused bits
  return encodeTlv(0x30, tbsDer, FIXED.signatureAlgorithm, bitString);
}
