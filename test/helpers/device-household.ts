/**
 * A household folder made by the code behind `homegate provision household
 * --out DIR` (provisioning/household-pki.ts): DIR/household-ca.{pem,key}
 * (the root, which must never reach a gateway) and DIR/gateway/pki/ with the
 * root's certificate, the terminal-enrollment intermediate and the gateway's
 * TLS certificate (SANs: the host name, `<name>.local` and the addresses).
 */
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { provisionHousehold } from '../../provisioning/household-pki.js';

export interface TestHousehold {
  dir: string;
  /** The root key as PKCS#8 PEM, DER and its bare 32-byte scalar: what a bundle must never hold. */
  rootKeyPem: string;
  rootKeyDer: Buffer;
  rootKeyScalar: Buffer;
}

export async function makeTestHousehold(dir: string, addresses: string[] = ['localhost', '127.0.0.1']): Promise<TestHousehold> {
  await provisionHousehold({ out: dir, hostName: 'homegate', addresses });
  const rootKeyPem = await readFile(join(dir, 'household-ca.key'), 'utf8');
  const key = createPrivateKey(rootKeyPem);
  return {
    dir,
    rootKeyPem,
    rootKeyDer: key.export({ type: 'pkcs8', format: 'der' }),
    rootKeyScalar: Buffer.from(key.export({ format: 'jwk' }).d!, 'base64url'),
  };
}
