/**
 * Who issues terminal certificates, and the one function that does it, from
 * the terminal's certificate signing request (PKCS#10, RFC 2986): pairing and
 * the sandbox's enrollment both go through `issueTerminalCertificate`, so the
 * terminal's private key is made by the terminal and never seen here.
 *
 * A provisioned household (household-pki.ts) has the enrollment intermediate
 * in `<data>/pki/enrollment-ca.{pem,key}`: it signs, and the terminal's
 * certificate file carries the intermediate after the leaf so that the
 * gateway's TLS listener, which trusts only the household root, can build the
 * chain (RFC 8446 §4.4.2: the sender's chain follows its certificate). A
 * gateway without one (the sandbox, gateways set up before provisioning
 * existed) keeps its household root beside it and issues with that.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSecretFile } from '../card-io/base/durable/secret-file.js';
import { loadOrCreateCa } from './ca-store.js';
import { EnrollmentError } from './enrollment-error.js';
import { GATEWAY_PKI_FILES } from './gateway-pki-files.js';
import { createClientCertificate, derToPem, pemToDer, spkiDer, toPublicCryptoKey, toPublicKeyObject, toSigningCryptoKey, type IssuingCa } from './pki/index.js';
import { pkiCrypto, x509 } from './pki/x509-provider.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Terminal certificates live two years; pairing again replaces one. */
export const TERMINAL_CERTIFICATE_DAYS = 730;
/** Backdated like the PKI's default, for verifiers whose clock is a little behind. */
const BACKDATE_MS = 5 * 60 * 1000;

export interface TerminalIssuer {
  /** The CA that signs terminal certificates (the intermediate, or the root on an unprovisioned gateway). */
  ca: IssuingCa;
  /** Certificates between the leaf and the root (DER), sent after the leaf. Empty when the root signs. */
  chain: Buffer[];
  /** The household root (DER): what terminals trust for the gateway and what the gateway trusts for terminals. */
  root: Buffer;
}

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(
    () => true,
    () => false,
  );
}

/** The issuer of `<data>/pki`: the enrollment intermediate when provisioned, else the (created-on-first-use) household root. */
export async function loadTerminalIssuer(pkiDir: string): Promise<TerminalIssuer> {
  const keyPath = join(pkiDir, GATEWAY_PKI_FILES.enrollmentKey);
  if (await exists(keyPath)) {
    const [certPem, keyPem, rootPem] = await Promise.all([
      readFile(join(pkiDir, GATEWAY_PKI_FILES.enrollmentCa), 'utf8'),
      readSecretFile(keyPath),
      readFile(join(pkiDir, GATEWAY_PKI_FILES.householdCa), 'utf8'),
    ]);
    const certificate = pemToDer(certPem);
    return { ca: { certificate, privateKey: createPrivateKey(keyPem) }, chain: [certificate], root: pemToDer(rootPem) };
  }
  const root = await loadOrCreateCa(pkiDir, 'household-ca', 'CN=homegate household CA');
  return { ca: root, chain: [], root: root.certificate };
}

/**
 * The public key of a PKCS#10 request whose self-signature verifies (RFC 2986
 * §3: the proof that the requester holds the private key). Only P-256.
 */
export async function publicKeyFromCsr(csrDer: Uint8Array): Promise<KeyObject> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(Buffer.from(csrDer));
  } catch (e) {
    throw new EnrollmentError('csr-invalid', 'The certificate request is not DER PKCS#10', {}, { cause: e });
  }
  let verified = false;
  try {
    verified = await csr.verify(pkiCrypto);
  } catch {
    verified = false;
  }
  if (!verified) throw new EnrollmentError('csr-invalid', 'The certificate request is not signed by its own key', {});
  try {
    return toPublicKeyObject(Buffer.from(csr.publicKey.rawData));
  } catch (e) {
    throw new EnrollmentError('csr-invalid', 'The certificate request is not for an EC P-256 key', {}, { cause: e });
  }
}

export interface IssuedTerminalCertificate {
  /** The leaf, DER. Its SHA-256 is the terminal's registry fingerprint. */
  certificate: Buffer;
  /** Leaf then chain, PEM: the terminal's `terminal.pem`. */
  chainPem: string;
  /** The household root, PEM: the terminal's `household-ca.pem`. */
  rootPem: string;
}

/** A clientAuth certificate for `name` (its CN: the name pattern admits no RFC 4514 special characters). */
export async function issueTerminalCertificate(p: {
  issuer: TerminalIssuer;
  name: string;
  publicKey: KeyObject | Uint8Array;
  now: number;
}): Promise<IssuedTerminalCertificate> {
  const notBefore = new Date(p.now - BACKDATE_MS);
  const certificate = await createClientCertificate({
    subject: `CN=${p.name}`,
    subjectPublicKey: p.publicKey instanceof Uint8Array ? spkiDer(p.publicKey) : p.publicKey,
    issuer: p.issuer.ca,
    notBefore,
    notAfter: new Date(notBefore.getTime() + TERMINAL_CERTIFICATE_DAYS * DAY_MS),
  });
  return {
    certificate,
    chainPem: [certificate, ...p.issuer.chain].map((c) => derToPem(c)).join(''),
    rootPem: derToPem(p.issuer.root),
  };
}

/** A PKCS#10 request for `key`, signed by it (the terminal side of pairing). */
export async function createTerminalCsr(name: string, key: { privateKey: KeyObject; publicKey: KeyObject }): Promise<Buffer> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: `CN=${name}`,
      keys: { privateKey: await toSigningCryptoKey(key.privateKey), publicKey: await toPublicCryptoKey(key.publicKey) },
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    },
    pkiCrypto,
  );
  return Buffer.from(csr.rawData);
}
