/**
 * The gateway's own TLS server certificate for the terminal listener, issued
 * by the household CA: terminals trust exactly that CA (their profile's
 * household-ca.pem), so no public CA is involved (API.md).
 */
import type { KeyObject } from 'node:crypto';
import { createServerCertificate, derToPem, generateP256KeyPair, type IssuingCa } from './pki/index.js';
import { EnrollmentError } from './enrollment-error.js';

export interface GatewayServerCertificate {
  /** DER. */
  certificate: Buffer;
  certificatePem: string;
  privateKey: KeyObject;
  /** PKCS#8 PEM, for Node's `tls` (which takes PEM, not KeyObject). */
  keyPem: string;
}

/**
 * A fresh P-256 key and a serverAuth leaf for `dnsNames` (e.g. `homegate.local`,
 * `localhost`) and optional `ipAddresses` (e.g. `192.168.1.2`, `::1`), valid
 * one year (the PKI's server default). CN is the first DNS name; clients
 * check the SANs (RFC 6125 §6.4.4).
 */
export async function issueGatewayServerCertificate(
  householdCa: IssuingCa,
  dnsNames: readonly string[],
  ipAddresses: readonly string[] = [],
): Promise<GatewayServerCertificate> {
  const first = dnsNames[0];
  if (first === undefined) throw new EnrollmentError('invalid', 'The gateway certificate needs at least one DNS name (e.g. localhost)');
  const { privateKey, publicKey } = generateP256KeyPair();
  const certificate = await createServerCertificate({
    subject: `CN=${first}`,
    subjectPublicKey: publicKey,
    issuer: householdCa,
    dnsNames,
    ipAddresses,
  });
  return {
    certificate,
    certificatePem: derToPem(certificate),
    privateKey,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
