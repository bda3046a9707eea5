/**
 * A local market and a fake home card for the proxy engine tests.
 *
 * - PKI: the issuer CA that certifies the card key as a constrained CA
 *   (certifyCardKey), and a market root → intermediate → `localhost` leaf.
 * - FakeCardSigner: a real P-256 key; VERIFY CERTIFICATE and the
 *   session-certificate rules are the emulator's own (the reference card), so
 *   what passes here passes the card. Counts its calls.
 * - startMarket: a Node https server, TLS 1.3 only, client certificates
 *   required and verified, tickets on, `GET /whoami` → { subject, issuer, resumed }.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import https from 'node:https';
import net from 'node:net';
import type tls from 'node:tls';
import { sign, type KeyObject } from 'node:crypto';
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import { verifyCertificateChain } from '../../card-io/emulator/certificate-chain.js';
import { parseCertificate } from '../../card-io/emulator/certificate-parse.js';
import type { VerifiedMarket } from '../../card-io/emulator/card-state.js';
import { checkSessionCertificate } from '../../card-io/emulator/session-certificate-rules.js';
import { CERTIFICATE_REJECTION_REASONS } from '../../card-io/home-card/status-error.js';
import type { CardSigner, MarketTarget } from '../../gateway/proxy/index.js';
import {
  certifyCardKey,
  createCaCertificate,
  createRootCa,
  createServerCertificate,
  derToPem,
  generateP256KeyPair,
  spkiDer,
  type IssuingCa,
} from '../../provisioning/pki/index.js';

export const MARKET_HOST = 'localhost';
const DAY = 24 * 3600 * 1000;

/** A CA with its certificate as a Buffer (what MarketTarget and Node take). */
export interface TestCa extends IssuingCa {
  certificate: Buffer;
}

/** Certificates here are issued a day ago, so that a gateway clock running behind still sees them valid. */
const issuedYesterday = (): Date => new Date(Date.now() - DAY);

export async function newCa(subject: string, parent?: IssuingCa): Promise<TestCa> {
  const { privateKey, publicKey } = generateP256KeyPair();
  const notBefore = issuedYesterday();
  const certificate = parent
    ? await createCaCertificate({ subject, subjectPublicKey: publicKey, issuer: parent, pathLength: 0, notBefore })
    : await createRootCa({ subject, privateKey, notBefore });
  return { privateKey, certificate };
}

export interface ServerIdentity {
  key: KeyObject;
  /** Leaf first, then the intermediate. */
  chain: Buffer[];
}

export async function serverIdentity(
  issuer: IssuingCa,
  intermediate: Buffer | null,
  p: { dnsNames?: string[]; notBefore?: Date; notAfter?: Date } = {},
): Promise<ServerIdentity> {
  const { privateKey, publicKey } = generateP256KeyPair();
  const dnsNames = p.dnsNames ?? [MARKET_HOST];
  const leaf = await createServerCertificate({
    notBefore: issuedYesterday(),
    ...p,
    subject: `CN=${dnsNames[0]}`,
    subjectPublicKey: publicKey,
    issuer,
    dnsNames,
  });
  return { key: privateKey, chain: intermediate ? [leaf, intermediate] : [leaf] };
}

export interface ProxyPki {
  issuerCa: TestCa;
  cardKey: KeyObject;
  cardCertificate: Buffer;
  marketRoot: TestCa;
  marketIntermediate: TestCa;
  market: ServerIdentity;
}

export async function makeProxyPki(): Promise<ProxyPki> {
  const issuerCa = await newCa('CN=Sandbox Issuer CA, O=homegate sandbox');
  const card = generateP256KeyPair();
  const cardCertificate = await certifyCardKey({
    subject: 'CN=Home Card 0001, O=homegate',
    cardPublicKey: spkiDer(card.publicKey),
    issuer: issuerCa,
    notBefore: issuedYesterday(),
  });
  const marketRoot = await newCa('CN=Shop Root CA, O=Shop');
  const marketIntermediate = await newCa('CN=Shop Issuing CA, O=Shop', marketRoot);
  const market = await serverIdentity(marketIntermediate, marketIntermediate.certificate);
  return { issuerCa, cardKey: card.privateKey, cardCertificate, marketRoot, marketIntermediate, market };
}

export function expiredWindow(): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(Date.now() - 2 * DAY), notAfter: new Date(Date.now() - DAY) };
}

/** A home card stand-in with the emulator's checks; throws CardErrors like the driver. */
export class FakeCardSigner implements CardSigner {
  verifyCalls = 0;
  signCalls = 0;
  readonly #key: KeyObject;
  readonly #anchors: Buffer[];
  readonly #cardSubject: Buffer;
  #verified: VerifiedMarket | null = null;

  constructor(
    readonly cardCertificate: Buffer,
    key: KeyObject,
    anchors: Buffer[],
  ) {
    this.#key = key;
    this.#anchors = anchors;
    this.#cardSubject = parseCertificate(cardCertificate)!.subject;
  }

  async verifyMarketChain(chainDer: Buffer[], at: Date): Promise<void> {
    this.verifyCalls++;
    const time = Math.floor(at.getTime() / 1000);
    const result = verifyCertificateChain(time, chainDer, this.#anchors);
    if (!result.ok) {
      const reason = CERTIFICATE_REJECTION_REASONS[result.reason]!; // as the driver names the 6300 reason byte
      throw new CardError(CardErrorCode.CertificateRejected, `Card rejected the certificate chain: ${reason}`, { sw: 0x6300, reason });
    }
    this.#verified = { dnsNames: result.dnsNames, time };
  }

  async signSessionCertificate(tbsDer: Buffer): Promise<Buffer> {
    this.signCalls++;
    const market = this.#verified;
    this.#verified = null; // signing uses up the release
    if (market === null) throw new CardError(CardErrorCode.ConditionsNotSatisfied, 'No verified market', { sw: 0x6985 });
    const why = checkSessionCertificate(tbsDer, { cardSubject: this.#cardSubject, market });
    if (why !== null) throw new CardError(CardErrorCode.WrongData, `Session certificate refused: ${why}`, { sw: 0x6a80 });
    return sign('sha256', tbsDer, this.#key);
  }
}

export function fakeSigner(pki: ProxyPki): FakeCardSigner {
  return new FakeCardSigner(pki.cardCertificate, pki.cardKey, [pki.marketRoot.certificate]);
}

export interface LocalMarket {
  port: number;
  /** TLS connections accepted so far (pre-flights included). */
  connections(): number;
  target(overrides?: Partial<MarketTarget>): MarketTarget;
  close(): Promise<void>;
}

const targetFor =
  (port: number, anchorsDer: Buffer[]) =>
  (overrides: Partial<MarketTarget> = {}): MarketTarget => ({
    name: 'shop',
    host: '127.0.0.1',
    port,
    servername: MARKET_HOST,
    anchorsDer,
    ...overrides,
  });

export interface MarketOptions {
  identity: ServerIdentity;
  /** The CA whose client certificates the market accepts. */
  clientCa: Buffer;
  /** Anchors the gateway registers for this market. */
  anchors: Buffer[];
  /** Seconds; becomes the TLS 1.3 ticket lifetime hint. Node's default is 300. */
  sessionTimeout?: number;
}

export async function startMarket(o: MarketOptions): Promise<LocalMarket> {
  const server = https.createServer(
    {
      key: o.identity.key.export({ type: 'pkcs8', format: 'pem' }),
      cert: o.identity.chain.map((c) => derToPem(c)).join(''),
      ca: derToPem(o.clientCa),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
      ...(o.sessionTimeout === undefined ? {} : { sessionTimeout: o.sessionTimeout }),
    },
    (req, res) => {
      const socket = req.socket as tls.TLSSocket;
      const peer = socket.getPeerCertificate();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ subject: peer.subject?.CN ?? null, issuer: peer.issuer?.CN ?? null, resumed: socket.isSessionReused() }));
    },
  );
  let connections = 0;
  server.on('connection', () => connections++);
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections: () => connections,
    target: targetFor(port, o.anchors),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * `openssl s_server` as a market that issues no session tickets at all
 * (`-num_tickets 0`, what nginx does with tickets and its session cache off).
 * A Node server cannot be made to: with SSL_OP_NO_TICKET, OpenSSL still sends
 * TLS 1.3 tickets, only stateful ones.
 */
export async function startOpensslMarketWithoutTickets(o: { identity: ServerIdentity; clientCa: Buffer; anchors: Buffer[] }): Promise<LocalMarket> {
  const dir = await mkdtemp(path.join(tmpdir(), 'homegate-market-'));
  const file = (name: string) => path.join(dir, name);
  await writeFile(file('key.pem'), o.identity.key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(file('cert.pem'), derToPem(o.identity.chain[0]!));
  await writeFile(
    file('chain.pem'),
    o.identity.chain
      .slice(1)
      .map((c) => derToPem(c))
      .join(''),
  );
  await writeFile(file('client-ca.pem'), derToPem(o.clientCa));
  const args = [
    's_server',
    '-accept',
    '127.0.0.1:0',
    '-tls1_3',
    '-num_tickets',
    '0',
    '-key',
    file('key.pem'),
    '-cert',
    file('cert.pem'),
    '-cert_chain',
    file('chain.pem'),
    '-verify',
    '1',
    '-CAfile',
    file('client-ca.pem'),
  ];
  const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'ignore'] });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString('latin1');
      const m = /ACCEPT .*:(\d+)/.exec(output);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`openssl s_server exited (${String(code)})`)));
  });
  return {
    port,
    connections: () => 0,
    target: targetFor(port, o.anchors),
    close: async () => {
      if (child.exitCode === null) {
        child.kill();
        await once(child, 'exit');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
