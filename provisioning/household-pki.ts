/**
 * A household's own PKI, made once on the provisioning machine
 * (`homegate provision household --out DIR`):
 *
 *   DIR/household-ca.pem, household-ca.key   the root; its key never leaves DIR
 *   DIR/gateway/pki/household-ca.pem         the root's certificate only
 *   DIR/gateway/pki/enrollment-ca.pem, .key  the terminal-enrollment intermediate:
 *                                            it lives on the gateway and signs
 *                                            terminal certificates at pairing
 *   DIR/gateway/pki/gateway.pem, .key        the gateway's TLS server certificate
 *
 * `DIR/gateway/` is laid out as the gateway's data directory, so flashing a
 * gateway copies it as it is (docs/PROVISIONING.md). Keys are 0600, folders
 * 0700, every file created exclusively: a second run never replaces a
 * household's root (that would orphan every terminal and card it certified).
 *
 * Path lengths (RFC 5280 §4.2.1.9): the root allows one CA below it (the
 * intermediate), the intermediate none, so a stolen gateway can issue terminal
 * certificates for its own household until it is re-provisioned, but never
 * another CA.
 */
import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createFileExclusive, fsyncDirectory, isErrno } from '../card-io/base/durable/atomic-file.js';
import { EnrollmentError } from './enrollment-error.js';
import { GATEWAY_PKI_FILES } from './gateway-pki-files.js';
import { issueGatewayServerCertificate } from './gateway-server-certificate.js';
import { createCaCertificate, createRootCa, derToPem, formatFingerprint, generateP256KeyPair, sha256Fingerprint } from './pki/index.js';

export { GATEWAY_PKI_FILES } from './gateway-pki-files.js';

export interface ProvisionHouseholdOptions {
  out: string;
  /** The household's name, in the certificates' subjects. Default "homegate household". */
  household?: string;
  /** The gateway's host name (no domain): SANs `<name>` and `<name>.local`. Default "homegate". */
  hostName?: string;
  /** More names and IP addresses terminals reach the gateway by (e.g. 192.168.1.20). */
  addresses?: readonly string[];
}

export interface ProvisionedHousehold {
  out: string;
  /** The root's SHA-256 fingerprint, colon hex: what pairing codes carry and terminals pin. */
  fingerprint: string;
  gatewayDataDir: string;
  dnsNames: string[];
  ipAddresses: string[];
}

const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const SUBJECT_TEXT = /^[\w .-]{1,64}$/;

function checkOptions(o: ProvisionHouseholdOptions): { household: string; dnsNames: string[]; ipAddresses: string[] } {
  const household = o.household ?? 'homegate household';
  if (!SUBJECT_TEXT.test(household)) throw new EnrollmentError('invalid', 'The household name may hold letters, digits, spaces, dots and dashes (1-64)', {});
  const host = (o.hostName ?? 'homegate').toLowerCase();
  if (!HOST_NAME.test(host)) throw new EnrollmentError('invalid', `"${host}" is not a host name (RFC 1123: letters, digits, dashes)`, { host });
  const extra = o.addresses ?? [];
  const ipAddresses = extra.filter((a) => isIP(a) !== 0);
  const dnsNames = [host, `${host}.local`, ...extra.filter((a) => isIP(a) === 0)];
  for (const n of dnsNames) {
    if (!n.split('.').every((label) => HOST_NAME.test(label.toLowerCase())))
      throw new EnrollmentError('invalid', `"${n}" is neither a DNS name nor an IP address`, {});
  }
  return { household, dnsNames: [...new Set(dnsNames)], ipAddresses: [...new Set(ipAddresses)] };
}

const pkcs8 = (k: import('node:crypto').KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }).toString();

export async function provisionHousehold(o: ProvisionHouseholdOptions): Promise<ProvisionedHousehold> {
  const { household, dnsNames, ipAddresses } = checkOptions(o);
  const gatewayDataDir = join(o.out, 'gateway');
  const pki = join(gatewayDataDir, 'pki');
  await mkdir(pki, { recursive: true, mode: 0o700 });

  const rootKey = generateP256KeyPair().privateKey;
  const rootCertificate = await createRootCa({ subject: `CN=${household} root CA`, privateKey: rootKey, pathLength: 1 });
  try {
    // The root key first and exclusively: an existing household is never replaced.
    await createFileExclusive(join(o.out, 'household-ca.key'), pkcs8(rootKey), 0o600);
  } catch (e) {
    if (isErrno(e, 'EEXIST'))
      throw new EnrollmentError('household-exists', `${o.out} already holds a household; provision into an empty directory`, { out: o.out });
    throw e;
  }
  await createFileExclusive(join(o.out, 'household-ca.pem'), derToPem(rootCertificate), 0o644);
  const root = { certificate: rootCertificate, privateKey: rootKey };

  const enrollment = generateP256KeyPair();
  const enrollmentCertificate = await createCaCertificate({
    subject: `CN=${household} terminal enrollment CA`,
    subjectPublicKey: enrollment.publicKey,
    issuer: root,
    pathLength: 0,
  });
  const server = await issueGatewayServerCertificate(root, dnsNames, ipAddresses);

  await createFileExclusive(join(pki, GATEWAY_PKI_FILES.enrollmentKey), pkcs8(enrollment.privateKey), 0o600);
  await createFileExclusive(join(pki, GATEWAY_PKI_FILES.enrollmentCa), derToPem(enrollmentCertificate), 0o644);
  await createFileExclusive(join(pki, GATEWAY_PKI_FILES.gatewayKey), server.keyPem, 0o600);
  await createFileExclusive(join(pki, GATEWAY_PKI_FILES.gatewayCertificate), server.certificatePem, 0o644);
  await createFileExclusive(join(pki, GATEWAY_PKI_FILES.householdCa), derToPem(rootCertificate), 0o644);
  await fsyncDirectory(pki);
  await fsyncDirectory(o.out);
  return { out: o.out, fingerprint: formatFingerprint(sha256Fingerprint(rootCertificate)), gatewayDataDir, dnsNames, ipAddresses };
}
