/**
 * A certificate authority kept on disk: `<dir>/<name>.pem` (certificate) and
 * `<dir>/<name>.key` (PKCS#8 private key, mode 0600). Created on first use,
 * reused afterwards, so a household's CA survives restarts.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRootCa, derToPem, generateP256KeyPair, pemToDer, type IssuingCa } from './pki/index.js';
import { readSecretFile, SecretFileError } from '../card-io/base/durable/secret-file.js';

export interface StoredCa extends IssuingCa {
  certificate: Buffer;
  privateKey: KeyObject;
  certificatePath: string;
}

export async function loadOrCreateCa(dir: string, name: string, subject: string): Promise<StoredCa> {
  const certificatePath = join(dir, `${name}.pem`);
  const keyPath = join(dir, `${name}.key`);
  try {
    // The CA key only from a file no one else may read (secret-file.ts).
    const [certPem, keyPem] = await Promise.all([readFile(certificatePath, 'utf8'), readSecretFile(keyPath)]);
    return { certificate: pemToDer(certPem), privateKey: createPrivateKey(keyPem), certificatePath };
  } catch (e) {
    const cause = e instanceof SecretFileError ? (e.cause as NodeJS.ErrnoException | undefined) : (e as NodeJS.ErrnoException);
    if (cause?.code !== 'ENOENT') throw e;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateP256KeyPair();
  const certificate = await createRootCa({ subject, privateKey, pathLength: 1 });
  // Key first and exclusively: a crash between the two writes leaves no certificate without its key.
  await writeFile(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  await writeFile(certificatePath, derToPem(certificate), { mode: 0o644, flag: 'wx' });
  return { certificate, privateKey, certificatePath };
}
