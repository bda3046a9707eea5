/**
 * The certificate of a market's signing key, the key that signs cancel
 * authorizations (PROTOCOL.md, CANCEL; claim 5). The card accepts it when it
 * is issued directly by a trust anchor on the card (the market CA), valid at
 * the record's time, not a CA, with keyUsage digitalSignature, and names the
 * record's market as a dNSName. So the profile is (RFC 5280 §4.2.1):
 * basicConstraints cA FALSE (critical), keyUsage digitalSignature (critical),
 * subjectAltName dNSName = the market's server name, and no extended key
 * usage: this key signs documents, it never serves TLS.
 */
import type { KeyObject } from 'node:crypto';
import { issueCertificate, type CertificateValidity, type IssuingCa } from '../../provisioning/pki/index.js';
import { x509 } from '../../provisioning/pki/x509-provider.js';

export interface SigningCertificateParams extends CertificateValidity {
  /** RFC 4514 subject, e.g. `CN=localhost signing, O=homegate sandbox market`. */
  subject: string;
  subjectPublicKey: KeyObject | Uint8Array;
  /** The market CA. */
  issuer: IssuingCa;
  /** The market's server name(s); records name the first. */
  dnsNames: readonly string[];
}

/** A signing leaf issued by the market CA (default lifetime 1 year); resolves with its DER. */
export async function createSigningCertificate(p: SigningCertificateParams): Promise<Buffer> {
  return issueCertificate({
    ...p,
    signer: { privateKey: p.issuer.privateKey, certificate: p.issuer.certificate },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension(p.dnsNames.map((value) => ({ type: 'dns' as const, value }))),
    ],
    defaultLifetimeDays: 365,
  });
}
