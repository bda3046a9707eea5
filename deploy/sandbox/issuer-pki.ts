/**
 * The sandbox e-money issuer's keys and certificates, kept in a directory so
 * they survive restarts. The issuer CA itself is the caller's (the household
 * credentials and the cards' certificates are issued by it), typically
 * `loadOrCreateCa(<data>/pki, 'issuer-ca', ...)` from provisioning/ca-store:
 *
 * - `issuer-server.pem` / `issuer-server.key`: the issuer's TLS server leaf,
 *   issued by the issuer CA, SANs `localhost` and `127.0.0.1`; reissued as
 *   the market's is (pki-files.ts);
 * - `issuer-load.key`: the load-signing key (P-256, PKCS#8, 0600). Its public
 *   half (SPKI DER) goes on each card at personalization (PUT DATA DF14), so
 *   it is never replaced once made: a new key would strand every card.
 *
 * `issueHouseholdCredential` issues the client certificate by which the issuer
 * knows a household (its CN is the household's name, PAYMENTS.md "Issuer").
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createClientCertificate, createServerCertificate, derToPem, generateP256KeyPair, type IssuingCa } from '../../provisioning/pki/index.js';
import { DAY_MS, loadOrIssueLeaf, privateKeyPem, readPrivateKey, writeAtomically } from './pki-files.js';

/** The issuer's server name in the sandbox. */
export const ISSUER_SERVER_NAME = 'localhost';

/** The issuer CA as the caller holds it (provisioning/ca-store's StoredCa fits). */
export type IssuerCa = IssuingCa & { certificate: Buffer };

export interface IssuerPki {
  serverCertificate: Buffer;
  serverKey: KeyObject;
  serverCertPath: string;
  serverKeyPath: string;
  /** Signs load authorizations. */
  loadKey: KeyObject;
  loadKeyPath: string;
  /** The load key's public half, SPKI DER: what personalization puts on the card. */
  loadPublicKey: Buffer;
}

export interface IssuerPkiOptions {
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

export async function loadOrCreateIssuerPki(dir: string, issuerCa: IssuerCa, options: IssuerPkiOptions = {}): Promise<IssuerPki> {
  const dnsNames = options.dnsNames ?? [ISSUER_SERVER_NAME];
  const ipAddresses = options.ipAddresses ?? ['127.0.0.1'];
  const now = options.now ?? new Date();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const renewLimit = new Date(now.getTime() + (options.renewBeforeDays ?? 30) * DAY_MS);
  const lifetimeMs = (options.lifetimeDays ?? 365) * DAY_MS;
  const names = [...dnsNames, ...ipAddresses];
  const server = await loadOrIssueLeaf({ dir, name: 'issuer-server', ca: issuerCa, names, renewLimit, now }, (subjectPublicKey, notBefore) =>
    createServerCertificate({
      subject: `CN=${dnsNames[0] ?? ISSUER_SERVER_NAME}, O=homegate sandbox issuer`,
      subjectPublicKey,
      issuer: issuerCa,
      dnsNames,
      ipAddresses,
      notBefore,
      notAfter: new Date(notBefore.getTime() + lifetimeMs),
    }),
  );
  const loadKeyPath = join(dir, 'issuer-load.key');
  let loadKey = await readPrivateKey(loadKeyPath);
  if (loadKey === undefined) {
    loadKey = generateP256KeyPair().privateKey;
    await writeAtomically(loadKeyPath, privateKeyPem(loadKey), 0o600);
  }
  return {
    serverCertificate: server.certificate,
    serverKey: server.key,
    serverCertPath: server.certPath,
    serverKeyPath: server.keyPath,
    loadKey,
    loadKeyPath,
    loadPublicKey: createPublicKey(loadKey).export({ type: 'spki', format: 'der' }),
  };
}

export interface HouseholdCredential {
  /** The client certificate (DER), subject `CN=<household>`, issued by the issuer CA. */
  certificate: Buffer;
  privateKey: KeyObject;
  /** PEM files for the gateway's issuer client (both mode 0600). */
  certPath: string;
  keyPath: string;
}

export interface HouseholdCredentialOptions {
  /** Where the files go: `<dir>/issuer-credential.pem` and `.key`. */
  dir: string;
  /** Lifetime in days. Default 365. */
  lifetimeDays?: number;
}

/**
 * A new client certificate for `household` (the CN the issuer's accounts are
 * keyed by), written for the gateway; a previous credential in `dir` is
 * replaced (the issuer knows households by name, so the old one stays valid
 * until it expires).
 */
export async function issueHouseholdCredential(issuerCa: IssuerCa, household: string, options: HouseholdCredentialOptions): Promise<HouseholdCredential> {
  if (household.length === 0 || /[,+=\\"<>;#\n]/.test(household)) {
    throw new RangeError('household must be a non-empty name without RFC 4514 special characters');
  }
  const { privateKey, publicKey } = generateP256KeyPair();
  const notBefore = new Date(Date.now() - 5 * 60_000);
  const certificate = await createClientCertificate({
    subject: `CN=${household}, O=homegate sandbox household`,
    subjectPublicKey: publicKey,
    issuer: issuerCa,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (options.lifetimeDays ?? 365) * DAY_MS),
  });
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  const certPath = join(options.dir, 'issuer-credential.pem');
  const keyPath = join(options.dir, 'issuer-credential.key');
  await writeAtomically(keyPath, privateKeyPem(privateKey), 0o600);
  await writeAtomically(certPath, derToPem(certificate), 0o600);
  return { certificate, privateKey, certPath, keyPath };
}
