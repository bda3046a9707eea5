/**
 * The certificate profiles homegate issues. Each one is a set of extensions
 * for `issueCertificate`; what each profile must carry comes from RFC 5280
 * §4.2.1 and from what the home card checks (PROTOCOL.md, VERIFY CERTIFICATE
 * and the session-certificate rules):
 *
 * - root CA: self-signed, basicConstraints cA (critical), keyCertSign + cRLSign;
 * - CA: the same, issued by another CA, with an optional pathLenConstraint
 *   (the home card's own certificate is such a CA with pathLength 0);
 * - server leaf: cA FALSE, digitalSignature, EKU serverAuth, dNSName SANs and
 *   optional iPAddress SANs (RFC 5280 §4.2.1.6: 4 or 16 octets);
 * - client leaf: cA FALSE, digitalSignature, EKU clientAuth.
 */
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import { issueCertificate, type CertificateSigner, type CertificateValidity } from './issue-certificate.js';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import type { PublicKeyInput } from './keys.js';
import { x509 } from './x509-provider.js';

/** A CA that issues: its certificate (DER) and private key. */
export interface IssuingCa {
  certificate: Uint8Array;
  privateKey: KeyObject;
}

interface SubjectParams extends CertificateValidity {
  /** RFC 4514 subject, e.g. `CN=shop.example`. */
  subject: string;
  subjectPublicKey: PublicKeyInput;
  issuer: IssuingCa;
}

function caExtensions(pathLength: number | undefined): x509.Extension[] {
  if (pathLength !== undefined && (!Number.isInteger(pathLength) || pathLength < 0)) {
    throw new CardError(CardErrorCode.InvalidArgument, 'pathLength must be a non-negative integer', { pathLength });
  }
  return [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ];
}

function leafExtensions(eku: x509.ExtendedKeyUsage, dnsNames: readonly string[], ipAddresses: readonly string[] = []): x509.Extension[] {
  const ext: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([eku], false),
  ];
  const names = [
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...ipAddresses.map((value) => ({ type: 'ip' as const, value: checkedIp(value) })),
  ];
  if (names.length > 0) ext.push(new x509.SubjectAlternativeNameExtension(names));
  return ext;
}

function checkedIp(value: string): string {
  if (isIP(value) === 0) {
    throw new CardError(CardErrorCode.InvalidArgument, 'Not an IPv4 or IPv6 address', { value });
  }
  return value;
}

function signer(ca: IssuingCa): CertificateSigner {
  return { privateKey: ca.privateKey, certificate: ca.certificate };
}

/** A self-signed root CA (default lifetime 10 years). */
export async function createRootCa(p: CertificateValidity & { subject: string; privateKey: KeyObject; pathLength?: number }): Promise<Buffer> {
  return issueCertificate({
    ...p,
    subjectPublicKey: p.privateKey,
    signer: { privateKey: p.privateKey },
    extensions: caExtensions(p.pathLength),
    defaultLifetimeDays: 3650,
  });
}

/** An intermediate or constrained CA issued by `issuer` (default lifetime 5 years). */
export async function createCaCertificate(p: SubjectParams & { pathLength?: number }): Promise<Buffer> {
  return issueCertificate({
    ...p,
    signer: signer(p.issuer),
    extensions: caExtensions(p.pathLength),
    defaultLifetimeDays: 1825,
  });
}

/**
 * Certify the key a home card generated on the card (GET DATA DF04, SPKI DER)
 * as a constrained CA with pathLength 0: the card may sign its short-lived
 * session leaves and nothing below them (docs/ARCHITECTURE.md, delegated handshake).
 */
export async function certifyCardKey(p: CertificateValidity & { subject: string; cardPublicKey: Uint8Array; issuer: IssuingCa }): Promise<Buffer> {
  return createCaCertificate({ ...p, subjectPublicKey: p.cardPublicKey, pathLength: 0 });
}

/**
 * A TLS server leaf (default lifetime 1 year); at least one DNS name is required.
 * `ipAddresses` (optional, e.g. `127.0.0.1`, `::1`) adds iPAddress SANs, so that
 * clients connecting by address verify it too.
 */
export async function createServerCertificate(p: SubjectParams & { dnsNames: readonly string[]; ipAddresses?: readonly string[] }): Promise<Buffer> {
  if (p.dnsNames.length === 0) {
    throw new CardError(CardErrorCode.InvalidArgument, 'A server certificate needs at least one DNS name');
  }
  return issueCertificate({
    ...p,
    signer: signer(p.issuer),
    extensions: leafExtensions(x509.ExtendedKeyUsage.serverAuth, p.dnsNames, p.ipAddresses),
    defaultLifetimeDays: 365,
  });
}

/** A TLS client leaf (default lifetime 1 year); DNS names are optional. */
export async function createClientCertificate(p: SubjectParams & { dnsNames?: readonly string[] }): Promise<Buffer> {
  return issueCertificate({
    ...p,
    signer: signer(p.issuer),
    extensions: leafExtensions(x509.ExtendedKeyUsage.clientAuth, p.dnsNames ?? []),
    defaultLifetimeDays: 365,
  });
}
