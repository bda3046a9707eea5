/**
 * Certificates and keys of the sandbox servers on disk: PEM files, keys
 * PKCS#8 with mode 0600, written via a temporary file and a rename so a crash
 * never leaves half a file, and the check that decides whether a stored leaf
 * may be reused or must be reissued.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { derToPem, generateP256KeyPair, pemToDer } from '../../provisioning/pki/index.js';

export const DAY_MS = 86_400_000;

/** A certificate (DER) and its private key as stored; undefined when either file is missing. */
export async function readCertificateAndKey(certPath: string, keyPath: string): Promise<{ cert: Buffer; key: KeyObject } | undefined> {
  try {
    const [certPem, keyPem] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    return { cert: pemToDer(certPem), key: createPrivateKey(keyPem) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** A private key as stored (PKCS#8 PEM); undefined when the file is missing. */
export async function readPrivateKey(path: string): Promise<KeyObject | undefined> {
  try {
    return createPrivateKey(await readFile(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Write via a temporary file and rename, so a crash never leaves half a file. */
export async function writeAtomically(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/**
 * True when a stored leaf can stay: issued and signed by `ca`, belongs to
 * `key`, valid beyond `notAfterLimit`, and names every one of `names` (DNS
 * names or IP addresses).
 */
export function leafStillGood(cert: Buffer, key: KeyObject, ca: Buffer, notAfterLimit: Date, names: readonly string[]): boolean {
  const x = new X509Certificate(cert);
  const issuer = new X509Certificate(ca);
  return (
    x.checkIssued(issuer) &&
    x.verify(issuer.publicKey) &&
    x.checkPrivateKey(key) &&
    new Date(x.validTo).getTime() > notAfterLimit.getTime() &&
    names.every((n) => x.checkHost(n) !== undefined || x.checkIP(n) !== undefined)
  );
}

export interface StoredLeafParams {
  dir: string;
  /** Files `<dir>/<name>.pem` (certificate) and `<dir>/<name>.key` (key, 0600). */
  name: string;
  /** The issuing CA's certificate (DER). */
  ca: { certificate: Buffer };
  /** DNS names and IP addresses the leaf must name. */
  names: readonly string[];
  /** Reissue when the stored leaf expires before this. */
  renewLimit: Date;
  now: Date;
}

export interface StoredLeaf {
  certificate: Buffer;
  key: KeyObject;
  certPath: string;
  keyPath: string;
}

/**
 * The leaf stored under `name` when `leafStillGood`, else a new P-256 key and
 * the certificate `issue` makes for it (backdated five minutes); the key is
 * written first, so a crash between the writes only causes a reissue.
 */
export async function loadOrIssueLeaf(p: StoredLeafParams, issue: (publicKey: KeyObject, notBefore: Date) => Promise<Buffer>): Promise<StoredLeaf> {
  const certPath = join(p.dir, `${p.name}.pem`);
  const keyPath = join(p.dir, `${p.name}.key`);
  const existing = await readCertificateAndKey(certPath, keyPath);
  if (existing && leafStillGood(existing.cert, existing.key, p.ca.certificate, p.renewLimit, p.names)) {
    return { certificate: existing.cert, key: existing.key, certPath, keyPath };
  }
  const { privateKey, publicKey } = generateP256KeyPair();
  const certificate = await issue(publicKey, new Date(p.now.getTime() - 5 * 60_000));
  await writeAtomically(keyPath, privateKeyPem(privateKey), 0o600);
  await writeAtomically(certPath, derToPem(certificate), 0o644);
  return { certificate, key: privateKey, certPath, keyPath };
}
