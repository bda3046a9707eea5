/**
 * The one function that signs certificates; the profiles in
 * `certificate-profiles.ts` only choose its extensions.
 *
 * Every certificate is ECDSA P-256 / SHA-256 and carries a subject key
 * identifier; an issued one also carries an authority key identifier copied
 * from the issuer's subject key identifier, so OpenSSL's chain building (Node
 * `tls`, nginx) links them even when the issuer was made elsewhere. The issuer
 * name is the issuer certificate's subject *as encoded there*: the home card
 * compares names byte for byte, so re-encoding a parsed name is not an option.
 */
import { createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import { spkiDer, toPublicCryptoKey, toSigningCryptoKey, type PublicKeyInput } from './keys.js';
import { ECDSA_P256_SHA256, pkiCrypto, x509 } from './x509-provider.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const BACKDATE_MS = 5 * 60 * 1000;

export interface CertificateValidity {
  /**
   * Start of validity. Default: five minutes ago, so that a verifier whose
   * clock is a little behind the issuing machine's still accepts it.
   */
  notBefore?: Date;
  /** End of validity. Default: notBefore plus the profile's lifetime. */
  notAfter?: Date;
  /** Serial number as hex. Default: 16 random bytes, positive (RFC 5280 §4.1.2.2). */
  serialNumber?: string;
}

/**
 * Who signs. With `certificate` (DER) the new certificate is issued by that CA;
 * without it the certificate is self-signed by `privateKey`.
 */
export interface CertificateSigner {
  privateKey: KeyObject;
  certificate?: Uint8Array;
}

export interface IssueCertificateParams extends CertificateValidity {
  /** Subject as an RFC 4514 string, e.g. `CN=Household CA, O=homegate`. */
  subject: string;
  subjectPublicKey: PublicKeyInput;
  signer: CertificateSigner;
  /** Profile extensions; the key identifiers are added here. */
  extensions: x509.Extension[];
  /** Lifetime used when `notAfter` is not given, in days. */
  defaultLifetimeDays: number;
}

function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f || 0x01; // positive and minimal: first byte 01..7f
  return b.toString('hex');
}

function validity(p: CertificateValidity, lifetimeDays: number): { notBefore: Date; notAfter: Date } {
  const notBefore = p.notBefore ?? new Date(Date.now() - BACKDATE_MS);
  const notAfter = p.notAfter ?? new Date(notBefore.getTime() + lifetimeDays * DAY_MS);
  if (!(notAfter.getTime() > notBefore.getTime())) {
    throw new CardError(CardErrorCode.InvalidArgument, 'notAfter must be later than notBefore');
  }
  return { notBefore, notAfter };
}

async function authorityKeyId(issuer: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId);
  return x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey, false, pkiCrypto);
}

function parseIssuer(der: Uint8Array): x509.X509Certificate {
  try {
    return new x509.X509Certificate(Buffer.from(der));
  } catch (e) {
    throw new CardError(CardErrorCode.InvalidCertificate, 'Issuer certificate is not DER X.509', {}, { cause: e });
  }
}

/** Issue (or self-sign) one certificate; resolves with its DER. */
export async function issueCertificate(p: IssueCertificateParams): Promise<Buffer> {
  const subjectSpki = spkiDer(p.subjectPublicKey);
  const signerSpki = spkiDer(createPublicKey(p.signer.privateKey));
  const signingKey = await toSigningCryptoKey(p.signer.privateKey);
  const publicKey = await toPublicCryptoKey(subjectSpki);
  const { notBefore, notAfter } = validity(p, p.defaultLifetimeDays);
  const extensions = [...p.extensions, await x509.SubjectKeyIdentifierExtension.create(publicKey, false, pkiCrypto)];

  let issuerName: string | x509.Name = p.subject;
  if (p.signer.certificate === undefined) {
    if (!subjectSpki.equals(signerSpki)) {
      throw new CardError(CardErrorCode.InvalidArgument, 'A self-signed certificate must certify the signing key');
    }
  } else {
    const issuer = parseIssuer(p.signer.certificate);
    if (!Buffer.from(issuer.publicKey.rawData).equals(signerSpki)) {
      throw new CardError(CardErrorCode.InvalidArgument, 'The signing key does not belong to the issuer certificate');
    }
    issuerName = issuer.subjectName;
    extensions.push(await authorityKeyId(issuer));
  }

  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: p.serialNumber ?? randomSerial(),
      subject: p.subject,
      issuer: issuerName,
      notBefore,
      notAfter,
      publicKey,
      signingKey,
      signingAlgorithm: ECDSA_P256_SHA256,
      extensions,
    },
    pkiCrypto,
  );
  return Buffer.from(cert.rawData);
}
