/**
 * The home card's certification request (PKCS#10, RFC 2986), signed by the
 * card: the request info is built here, its SHA-256 goes to the card's
 * COMPUTE DIGITAL SIGNATURE (allowed in personalization after admin
 * authentication, PROTOCOL.md), and the card's DER ECDSA signature closes
 * the request (ecdsa-with-SHA256, RFC 5758 §3.2). The private key never
 * leaves the card; the issuer verifies the request like any other
 * (terminal-issuer.ts publicKeyFromCsr).
 */
import { createHash } from 'node:crypto';
import { Attributes, CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Name, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { x509 } from './pki/x509-provider.js';

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/** Signs a SHA-256 digest with the card's key (HomeCard.sign). */
export type DigestSigner = (digest: Buffer) => Promise<Buffer>;

export async function createCardCsr(subject: string, cardSpki: Uint8Array, sign: DigestSigner): Promise<Buffer> {
  const info = new CertificationRequestInfo({
    version: 0,
    subject: AsnConvert.parse(new x509.Name(subject).toArrayBuffer(), Name),
    subjectPKInfo: AsnConvert.parse(Buffer.from(cardSpki), SubjectPublicKeyInfo),
    attributes: new Attributes(),
  });
  const infoDer = Buffer.from(AsnConvert.serialize(info));
  const signature = await sign(createHash('sha256').update(infoDer).digest());
  const csr = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    signature: new Uint8Array(signature).buffer,
  });
  return Buffer.from(AsnConvert.serialize(csr));
}
