/**
 * A complete sandbox PKI in a temporary directory, for any test that needs
 * the delegated handshake (docs/ARCHITECTURE.md) against a market:
 *
 * - the issuer root CA (what markets trust for client certificates);
 * - a "card" CA certificate under it (pathLength 0, as `certifyCardKey`
 *   issues at personalization), with a local key standing in for the card;
 * - a short-lived client leaf (clientAuth, SAN dNSName localhost, 5 min)
 *   signed by the card key, presented as `leaf + card certificate`;
 * - the market's CA and server certificate (deploy/sandbox/market-pki).
 *
 * Files (PEM; keys 0600): issuer-ca.pem, card-ca.pem, client-chain.pem,
 * client.key, market-ca.pem, market-server.pem, market-server.key.
 */
import type { KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateMarketPki, type MarketPki } from '../../deploy/sandbox/market-pki.js';
import { certifyCardKey, createClientCertificate, createRootCa, derToPem, generateP256KeyPair, type IssuingCa } from '../../provisioning/pki/index.js';

const MINUTE_MS = 60_000;

/** A client identity as a TLS client presents it. */
export interface ClientCredentials {
  key: KeyObject;
  keyPem: string;
  /** The leaf certificate (DER). */
  leaf: Buffer;
  /** `leaf + card certificate`, PEM: Node's `cert` option or nginx-style chain file. */
  chainPem: string;
}

export interface CardChain {
  issuer: IssuingCa;
  /** The card's CA certificate (pathLength 0) and the stand-in for the key on the card. */
  card: IssuingCa;
  /** A fresh client leaf signed by the card key. */
  issueLeaf(options?: LeafOptions): Promise<ClientCredentials>;
}

export interface LeafOptions {
  /** Default `CN=homegate session, O=homegate household`. */
  subject?: string;
  /** Default: one minute ago. */
  notBefore?: Date;
  /** Default: notBefore + 5 minutes. */
  notAfter?: Date;
}

export interface TlsFixture extends CardChain {
  dir: string;
  /** The default client: a 5-minute leaf under the card CA. */
  client: ClientCredentials;
  market: MarketPki;
  paths: { issuerCa: string; cardCa: string; clientChain: string; clientKey: string };
  /** Removes the directory. */
  cleanup(): Promise<void>;
}

async function newRoot(subject: string): Promise<IssuingCa> {
  const { privateKey } = generateP256KeyPair();
  return { privateKey, certificate: await createRootCa({ subject, privateKey, pathLength: 1 }) };
}

/**
 * An issuer root and a card CA under it. `name` lets a test build a second,
 * foreign hierarchy whose chains the market must refuse.
 */
export async function createCardChain(name = 'homegate sandbox issuer'): Promise<CardChain> {
  const issuer = await newRoot(`CN=${name} CA, O=${name}`);
  const cardKeys = generateP256KeyPair();
  const cardCertificate = await certifyCardKey({
    subject: `CN=home card 0001, O=${name}`,
    cardPublicKey: cardKeys.publicKey.export({ type: 'spki', format: 'der' }),
    issuer,
  });
  const card: IssuingCa = { certificate: cardCertificate, privateKey: cardKeys.privateKey };
  const issueLeaf = async (o: LeafOptions = {}): Promise<ClientCredentials> => {
    const { privateKey, publicKey } = generateP256KeyPair();
    const notBefore = o.notBefore ?? new Date(Date.now() - MINUTE_MS);
    const leaf = await createClientCertificate({
      subject: o.subject ?? 'CN=homegate session, O=homegate household',
      subjectPublicKey: publicKey,
      issuer: card,
      dnsNames: ['localhost'],
      notBefore,
      notAfter: o.notAfter ?? new Date(notBefore.getTime() + 5 * MINUTE_MS),
    });
    return {
      key: privateKey,
      keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      leaf,
      chainPem: derToPem(leaf) + derToPem(cardCertificate),
    };
  };
  return { issuer, card, issueLeaf };
}

export async function createTlsFixture(): Promise<TlsFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-tls-'));
  try {
    const chain = await createCardChain();
    const client = await chain.issueLeaf();
    const market = await loadOrCreateMarketPki(dir);
    const paths = {
      issuerCa: join(dir, 'issuer-ca.pem'),
      cardCa: join(dir, 'card-ca.pem'),
      clientChain: join(dir, 'client-chain.pem'),
      clientKey: join(dir, 'client.key'),
    };
    await writeFile(paths.issuerCa, derToPem(chain.issuer.certificate));
    await writeFile(paths.cardCa, derToPem(chain.card.certificate));
    await writeFile(paths.clientChain, client.chainPem);
    await writeFile(paths.clientKey, client.keyPem, { mode: 0o600 });
    return { ...chain, dir, client, market, paths, cleanup: () => rm(dir, { recursive: true, force: true }) };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
