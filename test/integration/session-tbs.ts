/**
 * Session-certificate TBS, built the way the gateway will build them for the
 * delegated handshake (PROTOCOL.md, "Session-certificate rules"): issuer =
 * the card certificate's subject (its encoded bytes), EKU exactly clientAuth,
 * dNSName SANs, a validity of a few minutes around the time given to
 * VERIFY CERTIFICATE, signature algorithm ecdsa-with-SHA256.
 *
 * @peculiar/x509 only emits signed certificates, so the TBS is taken out of a
 * draft signed with a throw-away key (@peculiar/asn1-x509); `assemble` puts
 * the card's signature in its place.
 */
import type { KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { generateP256KeyPair, toPublicCryptoKey } from '../../provisioning/pki/index.js';
import { ECDSA_P256_SHA256, pkiCrypto, x509 } from '../../provisioning/pki/x509-provider.js';

export interface SessionTbsOptions {
  /** The card certificate (DER): its subject becomes the issuer. */
  cardCertificate: Uint8Array;
  dnsNames: readonly string[];
  /** The time given to VERIFY CERTIFICATE; validity is [at - 1 min, at + 10 min]. */
  at: Date;
  /** The session key; default a fresh P-256 key. */
  subjectPublicKey?: KeyObject;
}

export interface SessionTbs {
  tbs: Buffer;
  /** The signed certificate (DER) with `signature` (DER ECDSA) in place. */
  assemble(signature: Buffer): Buffer;
}

export async function buildSessionTbs(o: SessionTbsOptions): Promise<SessionTbs> {
  const throwAway = await pkiCrypto.subtle.generateKey(ECDSA_P256_SHA256, false, ['sign', 'verify']);
  const draft = await x509.X509CertificateGenerator.create(
    {
      serialNumber: '01',
      subject: `CN=${o.dnsNames[0] ?? 'session'}`,
      issuer: new x509.X509Certificate(Buffer.from(o.cardCertificate)).subjectName,
      notBefore: new Date(o.at.getTime() - 60_000),
      notAfter: new Date(o.at.getTime() + 10 * 60_000),
      publicKey: await toPublicCryptoKey(o.subjectPublicKey ?? generateP256KeyPair().publicKey),
      signingKey: throwAway.privateKey,
      signingAlgorithm: ECDSA_P256_SHA256,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension(o.dnsNames.map((value) => ({ type: 'dns' as const, value }))),
      ],
    },
    pkiCrypto,
  );
  const cert = AsnConvert.parse(draft.rawData, Certificate);
  return {
    tbs: Buffer.from(AsnConvert.serialize(cert.tbsCertificate)),
    assemble(signature: Buffer): Buffer {
      cert.signatureValue = new Uint8Array(signature).buffer;
      return Buffer.from(AsnConvert.serialize(cert));
    },
  };
}
