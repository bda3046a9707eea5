/**
 * A whole household for end-to-end tests, each on its own free ports and in
 * its own temporary data directory, composed from the same parts as the
 * sandbox (deploy/sandbox/household/household.ts): a card personalized with the demo
 * PINs, the market "sandbox", the demo terminal enrolled (on the admin
 * socket, once the gateway listens). With the seams the tests need:
 *
 * - the card line is a TCP virtual serial line (as the sandbox) or a real pty
 *   pair joined by socat (`line: 'pty'`, register with needsBinary('socat'));
 * - the card emulator is its own process (`homegate card emulate`), with its
 *   stderr kept (JSON log lines) and kill / restart on the same image and line;
 * - the gateway runs in-process through startGateway, with an injected
 *   logger, clock and configuration overrides;
 * - the market is the Node sandbox market behind a counting TCP relay: the
 *   registered market URL is the relay, so a test can tell whether anything
 *   reached the market, and can act at the moment something does;
 * - the market's PKI is issued a day back, so a gateway whose clock runs
 *   behind still sees the market's certificates as valid.
 *
 * Every household is stopped and its directory removed when the test ends.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer, request } from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import test, { type ExecutionContext } from 'ava';
import { AccessCard, type PinSource } from '../../../card-io/access-card/access-card.js';
import { isAccessCardError } from '../../../card-io/access-card/access-card-error.js';
import { loadTerminalProfile, type TerminalProfile } from '../../../card-io/access-card/terminal-profile.js';
import { connectHomeCard } from '../../../card-io/home-card/connect.js';
import { silentLogger, type Logger, type LogLevel } from '../../../card-io/base/log.js';
import { loadOrCreateMarketPki, type MarketPki } from '../../../deploy/sandbox/market-pki.js';
import { startSandboxMarket, type SandboxMarket } from '../../../deploy/sandbox/market/index.js';
import { adminRequest, adminSocketPath } from '../../../gateway/cli/admin-client.js';
import { loadGatewayConfig, type GatewayConfig } from '../../../gateway/config/gateway-config.js';
import { startGateway, type RunningGateway } from '../../../gateway/gateway.js';
import { DEMO_PINS, ensureMarketAnchor, ensurePersonalized, prepareSandboxCard } from '../../../deploy/sandbox/household/sandbox-card.js';
import { DEMO_TERMINAL } from '../../../deploy/sandbox/household/sandbox-registry.js';
import { setupGateway } from '../../../gateway/setup/gateway-setup.js';
import type { StoredCa } from '../../../provisioning/ca-store.js';
import { loadTerminalIssuer } from '../../../provisioning/terminal-issuer.js';
import { createRootCa, derToPem, generateP256KeyPair } from '../../../provisioning/pki/index.js';
import type { BinaryRequirement, RegisterTest } from '../binaries.js';
import { freePort } from '../link-probes.js';
import { startPtyPair } from '../pty.js';
import type { HomeCard } from '../../../card-io/home-card/home-card.js';
import { virtualSocketConfig, withSocketCard } from './socket-card.js';

export { DEMO_PINS };
export const MARKET = 'sandbox';
const DAY_MS = 24 * 3600 * 1000;

// ---------------------------------------------------------------- emulator

// In its own file so that runners outside ava (npm run chaos) can use it; this file imports ava.
import { startEmulatorProcess, type EmulatorProcess } from './emulator-process.js';
export { startEmulatorProcess, type EmulatorProcess };

// ---------------------------------------------------------------- relay

export interface CountingRelay {
  readonly port: number;
  /** TCP connections accepted so far. */
  connections(): number;
  /** Awaited when a connection arrives, before anything is forwarded. */
  beforeForward: (() => Promise<void>) | undefined;
  close(): Promise<void>;
}

/** A TCP relay in front of `targetPort` that counts connections. */
export async function startCountingRelay(targetPort: number): Promise<CountingRelay> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const relay: CountingRelay = {
    port: 0,
    connections: () => count,
    beforeForward: undefined,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((client) => {
    count++;
    sockets.add(client);
    client.pause();
    client.on('error', () => undefined);
    client.once('close', () => sockets.delete(client));
    const ready = relay.beforeForward?.() ?? Promise.resolve();
    ready.catch(() => client.destroy());
    void ready.then(() => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      sockets.add(upstream);
      upstream.once('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
      client.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return Object.assign(relay, { port: (server.address() as net.AddressInfo).port });
}

// ---------------------------------------------------------------- recording market

export interface RecordingMarket {
  readonly port: number;
  /**
   * The client chain of every full (not resumed) handshake the market
   * accepted, DER, leaf first, up to the trusted issuer, as the market verified it.
   */
  readonly fullHandshakeChains: Buffer[][];
  stop(): Promise<void>;
}

/**
 * A market with the sandbox market's TLS settings (TLS 1.3, client
 * certificates from the issuer CA required, tickets, ALPN http/1.1) that
 * records the client chain of each full handshake. A resumed session carries
 * only the leaf (an OpenSSL session keeps the peer certificate, not its
 * chain), so what the gateway presented can only be seen on the gateway's
 * own handshake. Every request is answered `{ resumed }`.
 */
export async function startRecordingMarket(o: { serverCert: Buffer; serverKey: KeyObject; clientCa: Buffer }): Promise<RecordingMarket> {
  const fullHandshakeChains: Buffer[][] = [];
  const server = createHttpsServer(
    {
      cert: derToPem(o.serverCert),
      key: o.serverKey.export({ type: 'pkcs8', format: 'pem' }),
      ca: derToPem(o.clientCa),
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['http/1.1'],
    },
    (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ resumed: (req.socket as TLSSocket).isSessionReused() }));
    },
  );
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.isSessionReused()) return;
    const chain: Buffer[] = [];
    const seen = new Set<string>();
    for (
      let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      c?.raw !== undefined && !seen.has(c.fingerprint256);
      c = c.issuerCertificate
    ) {
      seen.add(c.fingerprint256);
      chain.push(Buffer.from(c.raw));
    }
    fullHandshakeChains.push(chain);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    fullHandshakeChains,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------- household

export interface HouseholdOptions {
  /** The card line: 'tcp' (a TCP virtual serial line, as the sandbox) or 'pty' (socat). Default 'tcp'. */
  line?: 'tcp' | 'pty';
  /** The gateway's logger. Default silent. */
  logger?: Logger;
  /** The gateway's clock (Unix ms). Default Date.now. */
  clock?: () => number;
  /** The emulator's --log-level. Default 'error'. */
  emulatorLogLevel?: LogLevel;
  /** Overrides of the gateway configuration's proxy section. Default: none (the defaults hold on a loaded CI machine). */
  proxy?: Partial<GatewayConfig['proxy']>;
  /** Overrides of the gateway configuration's card section. */
  card?: Partial<GatewayConfig['card']>;
  /**
   * Overrides of the gateway configuration's sessions section. Default here:
   * pinRetryDelayMs 0, so tests that are not about the PIN delay may type
   * wrong PINs back to back.
   */
  sessions?: Partial<GatewayConfig['sessions']>;
  /** Put the card in a virtual socket (the emulator's control channel; card.socket virtual). Default false. */
  socket?: boolean;
  /** Extra `card emulate` arguments (e.g. --slow-ms). */
  emulatorArgs?: readonly string[];
  /** Runs on the empty data directory before the gateway is set up (e.g. copy a provisioned household's pki/ in). */
  prepareDataDir?: (dataDir: string) => Promise<void>;
  /**
   * Personalizes the factory-fresh card instead of the sandbox (which then
   * finds it operational and leaves it): runs once the emulator serves the
   * line, with the sandbox issuer (`<data>/pki/issuer-ca.*`) and the market CA
   * (`<data>/sandbox/market/market-ca.pem`) in place.
   */
  personalize?: (p: { dataDir: string; device: string; adminKeyPath: string }) => Promise<void>;
  /** Last changes to the gateway configuration (e.g. `config.pairing`). */
  configure?: (config: GatewayConfig) => void;
}

export interface Household {
  readonly dataDir: string;
  /** The line as the gateway opens it. */
  readonly cardDevice: string;
  readonly gateway: RunningGateway;
  /** https://localhost:<port>, as in the terminal profiles. */
  readonly gatewayUrl: string;
  readonly market: SandboxMarket;
  /** In front of the market; the registered market URL points here. */
  readonly relay: CountingRelay;
  readonly marketPki: MarketPki;
  readonly householdCa: StoredCa;
  /** The sandbox issuer CA (DER): what markets trust for card chains. */
  readonly issuerCertificate: Buffer;
  readonly emulator: EmulatorProcess;
  /** With `socket`: the emulator's control channel (a unix socket path). */
  readonly socketControl?: string;
  /** `<data>/terminals/<name>`. */
  profileDir(name?: string): string;
  loadProfile(name?: string): Promise<TerminalProfile>;
  /** An access card for a profile, answering the demo PINs unless told otherwise. */
  accessCard(name?: string, pins?: PinSource): Promise<AccessCard>;
  /** The card certificate's subject as the sandbox market prints it (`CN=..,O=..`). */
  cardSubject(): string;
  /** A request on the admin socket. */
  admin(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export const demoPins: PinSource = async (which) => (which === 'PIN1' ? DEMO_PINS.pin1 : DEMO_PINS.pin2);

/** `CN=a\nO=b` (Node's X509Certificate form) → `CN=a,O=b` (the sandbox market's form). */
export function dn(x509Name: string): string {
  return x509Name.split('\n').join(',');
}

/** A distinguished name compared without the spaces after commas: `CN=a, O=b` is `CN=a,O=b`. */
export function normName(name: unknown): string {
  return String(name ?? '').replace(/\s*,\s*/g, ',');
}

/**
 * The market PKI issued a day back: the CA (written where loadOrCreateCa looks
 * for `market-ca`) and the server certificate. A later loadOrCreateMarketPki
 * on the same directory keeps both.
 */
async function backdatedMarketPki(dir: string): Promise<MarketPki> {
  const notBefore = new Date(Date.now() - DAY_MS);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateP256KeyPair();
  const certificate = await createRootCa({ subject: 'CN=homegate sandbox market CA, O=homegate sandbox', privateKey, pathLength: 1, notBefore });
  await writeFile(join(dir, 'market-ca.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(join(dir, 'market-ca.pem'), derToPem(certificate));
  return loadOrCreateMarketPki(dir, { now: notBefore });
}

export async function startHousehold(t: ExecutionContext, o: HouseholdOptions = {}): Promise<Household> {
  // First, so that its own teardown runs last (ava runs teardowns in reverse): the line outlives its users.
  const pty = o.line === 'pty' ? await startPtyPair(t) : undefined;
  const dataDir = await mkdtemp(join(tmpdir(), 'homegate-e2e-'));
  const stops: Array<() => Promise<unknown>> = [() => rm(dataDir, { recursive: true, force: true })];
  const stop = async () => {
    while (stops.length) await stops.pop()!().catch(() => undefined);
  };
  t.teardown(stop);

  const marketPki = await backdatedMarketPki(join(dataDir, 'sandbox', 'market'));
  const files = await prepareSandboxCard(dataDir);

  let cardSide: string;
  let hostSide: string;
  if (pty) [cardSide, hostSide] = [pty.cardPath, pty.hostPath];
  else hostSide = cardSide = `tcp://127.0.0.1:${await freePort()}`;
  const socketControl = o.socket ? join(dataDir, 'card-socket.sock') : undefined;
  const emulatorArgs = [...(socketControl ? ['--control', socketControl] : []), ...(o.emulatorArgs ?? [])];
  const emulator = await startEmulatorProcess(cardSide, files.imagePath, o.emulatorLogLevel ?? 'error', { args: emulatorArgs });
  stops.push(() => emulator.stop());

  // `personalize` works on the bare line (a card in a socket answers only after a reset): not with `socket`.
  await o.personalize?.({ dataDir, device: hostSide, adminKeyPath: files.adminKeyPath });
  const setUp = async (card: HomeCard) => {
    await ensurePersonalized(card, files, [marketPki.caCertificate]);
    await ensureMarketAnchor(card, files, marketPki.caCertificate);
  };
  if (socketControl) await withSocketCard(hostSide, socketControl, setUp);
  else {
    const conn = await connectHomeCard({ device: hostSide });
    try {
      await setUp(conn.card);
    } finally {
      await conn.close();
    }
  }

  await o.prepareDataDir?.(dataDir);
  const { configFile } = await setupGateway({ dataDir, cardDevice: hostSide, adminKeyFile: 'sandbox/card-admin.key' });
  const config = await loadGatewayConfig(configFile);
  config.card = { ...config.card, ...o.card, device: hostSide, ...(socketControl ? { socket: virtualSocketConfig(socketControl) } : {}) };
  config.terminalApi.host = '127.0.0.1';
  config.terminalApi.port = 0; // the gateway binds a free port itself: no race with other tests
  config.proxy = { ...config.proxy, ...o.proxy };
  config.sessions = { ...config.sessions, pinRetryDelayMs: 0, ...o.sessions };
  o.configure?.(config);

  const market = await startSandboxMarket({
    port: 0,
    serverCert: marketPki.serverCertificate,
    serverKey: marketPki.serverKey,
    clientCa: files.issuer.certificate,
  });
  stops.push(() => market.stop());
  const relay = await startCountingRelay(market.port);
  stops.push(() => relay.close());

  const gateway = await startGateway({ dataDir, config, logger: o.logger ?? silentLogger, ...(o.clock ? { clock: o.clock } : {}) });
  stops.push(() => gateway.stop());
  const gatewayUrl = `https://localhost:${gateway.port}`;
  // As the sandbox: the market "sandbox" (its anchor is on the card already) and the enrolled demo terminal.
  await gateway.registry.addMarket({ name: MARKET, url: `https://localhost:${relay.port}`, anchorPem: derToPem(marketPki.caCertificate) });
  const admin = (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => adminRequest(adminSocketPath(dataDir), method, path, body);
  await admin('POST', '/admin/terminals', { ...DEMO_TERMINAL });

  // The CA that issues terminal certificates: the household root, or a provisioned household's enrollment intermediate.
  const issuer = await loadTerminalIssuer(join(dataDir, 'pki'));
  const householdCa: StoredCa = {
    ...issuer.ca,
    certificate: Buffer.from(issuer.ca.certificate),
    certificatePath: join(dataDir, 'pki', issuer.chain.length > 0 ? 'enrollment-ca.pem' : 'household-ca.pem'),
  };
  const profileDir = (name: string = DEMO_TERMINAL.name) => join(dataDir, 'terminals', name);
  const loadProfile = (name?: string) => loadTerminalProfile(profileDir(name));
  return {
    dataDir,
    cardDevice: hostSide,
    gateway,
    gatewayUrl,
    market,
    relay,
    marketPki,
    householdCa,
    issuerCertificate: files.issuer.certificate,
    emulator,
    ...(socketControl ? { socketControl } : {}),
    profileDir,
    loadProfile,
    accessCard: async (name, pins = demoPins) => new AccessCard(await loadProfile(name), pins),
    cardSubject: () => dn(new X509Certificate(gateway.cards.certificate!).subject),
    admin,
    stop,
  };
}

// ---------------------------------------------------------------- registration

/**
 * Households are heavy (a CLI process, TLS servers, key generation), so the
 * end-to-end tests of a file run one after the other. A test that needs a
 * binary is serial too when the binary is there, and otherwise registered
 * as needsBinary decides (skipped locally, failing on CI).
 */
export function serialWhen(requirement: BinaryRequirement): RegisterTest {
  return requirement.available ? (title, implementation) => test.serial(title, implementation) : requirement.test;
}

// ---------------------------------------------------------------- terminal side

export interface GatewayRefusal {
  status: number;
  code: string;
  [field: string]: unknown;
}

/** The gateway's refusal of an access-card call; fails the test's promise if the call succeeded or failed otherwise. */
export async function refusalOf(p: Promise<unknown>): Promise<GatewayRefusal> {
  try {
    await p;
  } catch (e) {
    if (isAccessCardError(e) && e.gateway) return e.gateway;
    throw e;
  }
  throw new Error('expected the gateway to refuse, but the call succeeded');
}

export interface RawRequest {
  /** https://host:port of the gateway. */
  url: string;
  /** The household CA (PEM), to verify the gateway. */
  caPem: string;
  /** The client certificate (chain) and key to present; none when omitted. */
  certPem?: string;
  keyPem?: string;
  method: 'GET' | 'POST';
  path: string;
  /** Sent as is, with Content-Type application/jose. */
  body?: string;
  /** Send the body in 64 kB pieces without Content-Length (chunked transfer coding). */
  chunked?: boolean;
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  json: Record<string, unknown>;
}

/** One HTTPS request to the gateway's terminal API with exactly the given certificate and body. */
export function gatewayRequest(r: RawRequest): Promise<RawResponse> {
  const url = new URL(r.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: Number(url.port),
        path: r.path,
        method: r.method,
        ca: r.caPem,
        ...(r.certPem ? { cert: r.certPem } : {}),
        ...(r.keyPem ? { key: r.keyPem } : {}),
        minVersion: 'TLSv1.3',
        servername: url.hostname,
        agent: false,
        timeout: r.timeoutMs ?? 15_000,
        headers: r.body === undefined ? {} : { 'content-type': 'application/jose', ...(r.chunked ? {} : { 'content-length': Buffer.byteLength(r.body) }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
          } catch (e) {
            reject(e);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${r.url}${r.path}`)));
    req.on('error', reject);
    if (!r.chunked || r.body === undefined) return void req.end(r.body);
    const body = Buffer.from(r.body);
    let at = 0;
    const pump = (): void => {
      while (at < body.length && !req.destroyed) {
        const piece = body.subarray(at, (at += 64 * 1024));
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

/** The `{ error: { code, ... } }` of a raw answer. */
export function errorOf(r: RawResponse): Record<string, unknown> & { code?: string } {
  return (r.json.error ?? {}) as Record<string, unknown> & { code?: string };
}

/** A profile's own credentials for gatewayRequest. */
export function asTerminal(p: TerminalProfile): Pick<RawRequest, 'url' | 'caPem' | 'certPem' | 'keyPem'> {
  return { url: p.gatewayUrl, caPem: p.householdCaPem, certPem: p.certificatePem, keyPem: p.keyPem };
}

/** Resolves once `check` is true, polling every 50 ms; rejects with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
