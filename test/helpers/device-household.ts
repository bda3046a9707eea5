/**
 * A household folder as `homegate provision household --out DIR` writes it
 * (docs/PROVISIONING.md): DIR/household-ca.{pem,key} (the root, which must
 * never reach a gateway) and DIR/gateway/pki/ with the root's certificate,
 * the terminal-enrollment intermediate and the gateway's TLS certificate.
 * Made here with the PKI functions, so the device tests do not depend on the
 * provisioning command's other work (a card, pairing).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { issueGatewayServerCertificate } from '../../provisioning/gateway-server-certificate.js';
import { createCaCertificate, createRootCa, derToPem, generateP256KeyPair } from '../../provisioning/pki/index.js';

export interface TestHousehold {
  dir: string;
  /** The root key as PKCS#8 PEM, DER and its bare 32-byte scalar: what a bundle must never hold. */
  rootKeyPem: string;
  rootKeyDer: Buffer;
  rootKeyScalar: Buffer;
}

export async function makeTestHousehold(
  dir: string,
  hostNames: string[] = ['homegate', 'homegate.local', 'localhost'],
  ips: string[] = ['127.0.0.1'],
): Promise<TestHousehold> {
  const pki = join(dir, 'gateway', 'pki');
  await mkdir(pki, { recursive: true, mode: 0o700 });
  const root = generateP256KeyPair();
  const rootCert = await createRootCa({ subject: 'CN=test household root CA', privateKey: root.privateKey, pathLength: 1 });
  const enrollment = generateP256KeyPair();
  const enrollmentCert = await createCaCertificate({
    subject: 'CN=test household terminal enrollment CA',
    subjectPublicKey: enrollment.publicKey,
    issuer: { certificate: rootCert, privateKey: root.privateKey },
    pathLength: 0,
  });
  const server = await issueGatewayServerCertificate({ certificate: rootCert, privateKey: root.privateKey }, hostNames, ips);
  const rootKeyPem = root.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await writeFile(join(dir, 'household-ca.key'), rootKeyPem, { mode: 0o600 });
  await writeFile(join(dir, 'household-ca.pem'), derToPem(rootCert));
  await writeFile(join(pki, 'household-ca.pem'), derToPem(rootCert));
  await writeFile(join(pki, 'enrollment-ca.pem'), derToPem(enrollmentCert));
  await writeFile(join(pki, 'enrollment-ca.key'), enrollment.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(join(pki, 'gateway.pem'), server.certificatePem);
  await writeFile(join(pki, 'gateway.key'), server.keyPem, { mode: 0o600 });
  const scalar = Buffer.from(root.privateKey.export({ format: 'jwk' }).d!, 'base64url');
  return { dir, rootKeyPem, rootKeyDer: root.privateKey.export({ type: 'pkcs8', format: 'der' }), rootKeyScalar: scalar };
}
