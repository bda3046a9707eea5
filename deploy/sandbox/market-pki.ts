/**
 * The sandbox market's own PKI, kept on disk so it survives restarts and the
 * gateway can register the market with `--ca <dir>/market-ca.pem`:
 *
 * - `market-ca.pem` / `market-ca.key`: a root CA (provisioning/ca-store);
 * - `market-server.pem` / `market-server.key`: the server leaf, SANs
 *   `localhost` and `127.0.0.1` (iPAddress), for SNI name `localhost`;
 * - `market-signing.pem` / `market-signing.key`: the key that signs cancel
 *   authorizations and its certificate, issued by the market CA, not a CA,
 *   keyUsage digitalSignature, dNSName the server name
 *   (signing-certificate.ts; PROTOCOL.md, CANCEL).
 *
 * Keys are PKCS#8 PEM with mode 0600. A leaf is reissued when it is missing,
 * does not belong to the CA or its key, no longer names the server name(s),
 * or expires within `renewBeforeDays`.
 */
import type { KeyObject } from 'node:crypto';
import { loadOrCreateCa } from '../../provisioning/ca-store.js';
import { createServerCertificate } from '../../provisioning/pki/index.js';
import { DAY_MS, loadOrIssueLeaf } from './pki-files.js';
import { createSigningCertificate } from './signing-certificate.js';

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
  /** Signs cancel authorizations (the market's `signer` option): certificate DER, issued by the market CA. */
  signingCertificate: Buffer;
  signingKey: KeyObject;
  signingCertPath: string;
  signingKeyPath: string;
}

export interface MarketPkiOptions {
  /** DNS SANs of the server certificate. Default `['localhost']`. */
  dnsNames?: readonly string[];
  /** IP SANs of the server certificate. Default `['127.0.0.1']`. */
  ipAddresses?: readonly string[];
  /** Lifetime of a new server or signing certificate in days. Default 365. */
  lifetimeDays?: number;
  /** Reissue the server or signing certificate when it expires within this many days. Default 30. */
  renewBeforeDays?: number;
  /** The clock, for tests. Default `new Date()`. */
  now?: Date;
}

export async function loadOrCreateMarketPki(dir: string, options: MarketPkiOptions = {}): Promise<MarketPki> {
  const dnsNames = options.dnsNames ?? [MARKET_SERVER_NAME];
  const ipAddresses = options.ipAddresses ?? ['127.0.0.1'];
  const now = options.now ?? new Date();
  const ca = await loadOrCreateCa(dir, 'market-ca', 'CN=homegate sandbox market CA, O=homegate sandbox');
  const serverName = dnsNames[0] ?? MARKET_SERVER_NAME;
  const renewLimit = new Date(now.getTime() + (options.renewBeforeDays ?? 30) * DAY_MS);
  const lifetimeMs = (options.lifetimeDays ?? 365) * DAY_MS;
  const leaf = { dir, ca, renewLimit, now };
  const server = await loadOrIssueLeaf({ ...leaf, name: 'market-server', names: [...dnsNames, ...ipAddresses] }, (subjectPublicKey, notBefore) =>
    createServerCertificate({
      subject: `CN=${serverName}, O=homegate sandbox market`,
      subjectPublicKey,
      issuer: ca,
      dnsNames,
      ipAddresses,
      notBefore,
      notAfter: new Date(notBefore.getTime() + lifetimeMs),
    }),
  );
  const signing = await loadOrIssueLeaf({ ...leaf, name: 'market-signing', names: dnsNames }, (subjectPublicKey, notBefore) =>
    createSigningCertificate({
      subject: `CN=${serverName} signing, O=homegate sandbox market`,
      subjectPublicKey,
      issuer: ca,
      dnsNames,
      notBefore,
      notAfter: new Date(notBefore.getTime() + lifetimeMs),
    }),
  );
  return {
    caCertificate: ca.certificate,
    caKey: ca.privateKey,
    caPath: ca.certificatePath,
    serverCertificate: server.certificate,
    serverKey: server.key,
    serverCertPath: server.certPath,
    serverKeyPath: server.keyPath,
    serverName,
    signingCertificate: signing.certificate,
    signingKey: signing.key,
    signingCertPath: signing.certPath,
    signingKeyPath: signing.keyPath,
  };
}
