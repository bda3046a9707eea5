/**
 * The sandbox market's own PKI, kept on disk so it survives restarts and the
 * gateway can register the market with `--ca <dir>/market-ca.pem`:
 *
 * - `market-ca.pem` / `market-ca.key`: a root CA (provisioning/ca-store);
 * - `market-server.pem` / `market-server.key`: the server leaf, SANs
 *   `localhost` and `127.0.0.1` (iPAddress), for SNI name `localhost`.
 *
 * Keys are PKCS#8 PEM with mode 0600. The server certificate is reissued when
 * it is missing, does not belong to the CA or its key, or expires within
 * `renewBeforeDays`.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadOrCreateCa } from '../../provisioning/ca-store.js';
import { createServerCertificate, derToPem, generateP256KeyPair, pemToDer } from '../../provisioning/pki/index.js';

/** The name a client sends as SNI (and verifies) when it talks to the sandbox market. */
export const MARKET_SERVER_NAME = 'localhost';

export interface MarketPki {
  /** The market's root CA (DER): what the gateway trusts for this market. */
  caCertificate: Buffer;
  caKey: KeyObject;
  caPath: string;
  serverCertificate: Buffer;
  serverKey: KeyObject;
  serverCertPath: string;
  serverKeyPath: string;
  serverName: string;
}

export interface MarketPkiOptions {
  /** DNS SANs of the server certificate. Default `['localhost']`. */
  dnsNames?: readonly string[];
  /** IP SANs of the server certificate. Default `['127.0.0.1']`. */
  ipAddresses?: readonly string[];
  /** Lifetime of a new server certificate in days. Default 365. */
  lifetimeDays?: number;
  /** Reissue the server certificate when it expires within this many days. Default 30. */
  renewBeforeDays?: number;
  /** The clock, for tests. Default `new Date()`. */
  now?: Date;
}

const DAY_MS = 86_400_000;

async function readServer(certPath: string, keyPath: string): Promise<{ cert: Buffer; key: KeyObject } | undefined> {
  try {
    const [certPem, keyPem] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    return { cert: pemToDer(certPem), key: createPrivateKey(keyPem) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function stillGood(cert: Buffer, key: KeyObject, ca: Buffer, notAfterLimit: Date, names: readonly string[]): boolean {
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

/** Write via a temporary file and rename, so a crash never leaves half a file. */
async function writeAtomically(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

export async function loadOrCreateMarketPki(dir: string, options: MarketPkiOptions = {}): Promise<MarketPki> {
  const dnsNames = options.dnsNames ?? [MARKET_SERVER_NAME];
  const ipAddresses = options.ipAddresses ?? ['127.0.0.1'];
  const now = options.now ?? new Date();
  const ca = await loadOrCreateCa(dir, 'market-ca', 'CN=homegate sandbox market CA, O=homegate sandbox');
  const serverCertPath = join(dir, 'market-server.pem');
  const serverKeyPath = join(dir, 'market-server.key');
  const existing = await readServer(serverCertPath, serverKeyPath);
  const renewLimit = new Date(now.getTime() + (options.renewBeforeDays ?? 30) * DAY_MS);
  const base = { caCertificate: ca.certificate, caKey: ca.privateKey, caPath: ca.certificatePath };
  const paths = { serverCertPath, serverKeyPath, serverName: dnsNames[0] ?? MARKET_SERVER_NAME };
  if (existing && stillGood(existing.cert, existing.key, ca.certificate, renewLimit, [...dnsNames, ...ipAddresses])) {
    return { ...base, ...paths, serverCertificate: existing.cert, serverKey: existing.key };
  }
  const { privateKey, publicKey } = generateP256KeyPair();
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const serverCertificate = await createServerCertificate({
    subject: `CN=${dnsNames[0] ?? MARKET_SERVER_NAME}, O=homegate sandbox market`,
    subjectPublicKey: publicKey,
    issuer: ca,
    dnsNames,
    ipAddresses,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (options.lifetimeDays ?? 365) * DAY_MS),
  });
  // Key first: a crash between the two writes leaves a key without a certificate, reissued next time.
  await writeAtomically(serverKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  await writeAtomically(serverCertPath, derToPem(serverCertificate), 0o644);
  return { ...base, ...paths, serverCertificate, serverKey: privateKey };
}
