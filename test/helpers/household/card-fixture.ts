/**
 * Boots a whole home-card stack for integration tests: a real card image
 * file, the reference card (applet + T=1 card engine) and the driver
 * (T=1 interface device + HomeCard), joined either
 *
 *  - in memory: a memory link pair, everything in the test's process; or
 *  - over a pty: a socat pty pair, the emulator as a SEPARATE PROCESS
 *    (`node bin/homegate.js card emulate --device <card> --image <file>`),
 *    the driver through connectHomeCard({ device: <host> }), as the gateway does.
 *
 * Everything a fixture starts is stopped by t.teardown (the emulator process
 * is killed and awaited), and, should a worker die before its teardowns ran,
 * by a process 'exit' hook that kills the emulator processes still running.
 *
 * Also here: personalization with the test PINs and a market trust anchor,
 * and the market PKI (root → issuing CA → server leaf) the card verifies.
 * Suites using the pty variant must register their tests with needsBinary('socat').
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { createCardImage } from '../../../card-io/emulator/card-image.js';
import { createHomeCardApplet, type HomeCardApplet } from '../../../card-io/emulator/applet.js';
import { connectHomeCard } from '../../../card-io/home-card/connect.js';
import { HomeCard } from '../../../card-io/home-card/home-card.js';
import type { ByteLink } from '../../../card-io/link/link.js';
import { createMemoryLinkPair, type MemoryLinkPair } from '../../../card-io/link/memory-link.js';
import { silentLogger, type Logger } from '../../../card-io/base/log.js';
import { T1CardEngine } from '../../../card-io/t1/t1-card-engine.js';
import { T1InterfaceDevice } from '../../../card-io/t1/t1-interface-device.js';
import type { T1Options } from '../../../card-io/t1/t1-options.js';
import { personalizeCard } from '../../../provisioning/personalize-card.js';
import { createCaCertificate, createRootCa, createServerCertificate, generateP256KeyPair, type IssuingCa } from '../../../provisioning/pki/index.js';
import { startPtyPair, type PtyPair } from '../pty.js';
import { startEmulatorProcess, type EmulatorProcess } from './emulator-process.js';

/** What every transport variant hands to a shared suite. */
export interface CardUnderTest {
  readonly transport: 'memory' | 'pty';
  /** The driver API, as the gateway uses it. */
  readonly card: HomeCard;
  /** The driver's end of the line. */
  readonly link: ByteLink;
  /** The driver's T=1 layer (its `stats` count blocks, e.g. to see chaining). */
  readonly ifd: T1InterfaceDevice;
  /** The card image file the card keeps its persistent state in. */
  readonly imagePath: string;
  /** The card's admin key (32 bytes), returned when the image was made. */
  readonly adminKey: Buffer;
}

/** Boots one card for one test; whatever it starts is stopped when the test ends. */
export type MakeCard = (t: ExecutionContext) => Promise<CardUnderTest>;

export interface MemoryCard extends CardUnderTest {
  readonly transport: 'memory';
  readonly pair: MemoryLinkPair;
  readonly engine: T1CardEngine;
  readonly applet: HomeCardApplet;
}

export interface PtyCard extends CardUnderTest {
  readonly transport: 'pty';
  readonly pty: PtyPair;
  /** The running emulator process. */
  readonly emulator: EmulatorProcess;
  /**
   * Kill the emulator process (default SIGKILL: a power cut, no clean-up) and
   * start a new one on the same image and device; resolves when it is ready.
   */
  restartEmulator(signal?: NodeJS.Signals): Promise<void>;
}

export interface CardFixtureOptions {
  /** T=1 options of the driver (and, in memory, of the card). Default: PROTOCOL.md defaults. */
  t1?: T1Options;
  /** HomeCard per-command timeout in ms; default 10000. */
  commandTimeoutMs?: number;
  logger?: Logger;
}

/** A temporary directory, removed when the test ends. */
export async function tempDir(t: ExecutionContext, prefix = 'homegate-card-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** (a) The whole stack in this process over a memory link pair, on a real image file. */
export async function bootMemoryCard(t: ExecutionContext, options: CardFixtureOptions = {}): Promise<MemoryCard> {
  const logger = options.logger ?? silentLogger;
  const imagePath = path.join(await tempDir(t), 'card.img');
  const { image, adminKey } = await createCardImage(imagePath);
  const applet = createHomeCardApplet({ store: image, logger: logger.child({ channel: 'applet' }) });
  const pair = createMemoryLinkPair('card');
  const engine = new T1CardEngine({ ...options.t1, link: pair.b, logger: logger.child({ channel: 'card-t1' }), processor: applet });
  engine.start();
  const ifd = new T1InterfaceDevice({ ...options.t1, link: pair.a, logger: logger.child({ channel: 't1' }) });
  const card = new HomeCard({ transport: ifd, logger, commandTimeoutMs: options.commandTimeoutMs });
  t.teardown(async () => {
    ifd.close();
    await engine.stop();
    await pair.a.close();
    await pair.b.close();
  });
  return { transport: 'memory', card, link: pair.a, ifd, imagePath, adminKey, pair, engine, applet };
}

/** (b) socat pty pair, the emulator as its own process, the driver via connectHomeCard. */
export async function bootPtyCard(t: ExecutionContext, options: CardFixtureOptions = {}): Promise<PtyCard> {
  const pty = await startPtyPair(t);
  const imagePath = path.join(await tempDir(t), 'card.img');
  const { adminKey } = await createCardImage(imagePath);
  let emulator = await startTestEmulator(t, pty.cardPath, imagePath);
  const conn = await connectHomeCard({
    device: pty.hostPath,
    logger: options.logger,
    t1: options.t1,
    // Reopen quickly when the pty comes back; the defaults are for USB adapters.
    link: { backoff: { initialDelayMs: 20, maxDelayMs: 250 } },
    commandTimeoutMs: options.commandTimeoutMs,
  });
  t.teardown(() => conn.close());
  return {
    transport: 'pty',
    card: conn.card,
    link: conn.link,
    ifd: conn.ifd,
    imagePath,
    adminKey,
    pty,
    get emulator() {
      return emulator;
    },
    async restartEmulator(signal: NodeJS.Signals = 'SIGKILL') {
      await emulator.kill(signal);
      emulator = await startTestEmulator(t, pty.cardPath, imagePath);
    },
  };
}

// ---------------------------------------------------------------------------
// The emulator process

/**
 * `homegate card emulate` on `device` (info log, kept for failure messages),
 * ready once it printed {"event":"ready"}; killed when the test ends.
 */
async function startTestEmulator(t: ExecutionContext, device: string, imagePath: string): Promise<EmulatorProcess> {
  const emulator = await startEmulatorProcess(device, imagePath, 'info');
  t.teardown(() => emulator.kill('SIGKILL'));
  return emulator;
}

// ---------------------------------------------------------------------------
// (c) Personalization and the market PKI

/** The PINs every personalized test card gets. */
export const TEST_PINS = { pin1: '1234', pin2: '5678', puk: '87654321' } as const;

/** The DNS names of the test market's server certificate. */
export const MARKET_HOSTS = ['shop.example', 'www.shop.example'] as const;

export interface MarketPki {
  root: IssuingCa;
  issuing: IssuingCa;
  /** The server leaf (DER), for MARKET_HOSTS unless other hosts were given. */
  leaf: Buffer;
  /** Leaf first, then the issuing CA: what a market's TLS server presents. */
  chain: Buffer[];
}

async function newCa(subject: string, issuer?: IssuingCa, pathLength?: number): Promise<IssuingCa> {
  const { privateKey, publicKey } = generateP256KeyPair();
  const certificate = issuer
    ? await createCaCertificate({ subject, subjectPublicKey: publicKey, issuer, pathLength })
    : await createRootCa({ subject, privateKey });
  return { privateKey, certificate };
}

/** A market's PKI: root CA (the card's trust anchor) → issuing CA (pathLength 0) → server leaf. */
export async function createMarketPki(name = 'Shop', hosts: readonly string[] = MARKET_HOSTS): Promise<MarketPki> {
  const root = await newCa(`CN=${name} Root CA, O=${name}`);
  const issuing = await newCa(`CN=${name} Issuing CA, O=${name}`, root, 0);
  const leaf = await createServerCertificate({
    subject: `CN=${hosts[0]}`,
    subjectPublicKey: generateP256KeyPair().publicKey,
    issuer: issuing,
    dnsNames: hosts,
  });
  return { root, issuing, leaf, chain: [leaf, Buffer.from(issuing.certificate)] };
}

export interface PersonalizedCard {
  /** The card certificate (DER) the issuer made for the key generated on the card. */
  certificate: Buffer;
  /** Its subject as given to the issuer (RFC 4514). */
  subject: string;
  issuer: IssuingCa;
  /** The market whose root is the card's trust anchor. */
  market: MarketPki;
}

/**
 * Personalizes a factory-fresh card as provisioning does: an issuer root CA,
 * the key generated on the card, PINs TEST_PINS, the market's root as trust
 * anchor, then ACTIVATE. The card is left operational and freshly selected.
 */
export async function personalizeTestCard(cut: CardUnderTest, subject = 'CN=Home card 01, O=Household'): Promise<PersonalizedCard> {
  const issuer = await newCa('CN=Test Card Issuer, O=homegate test');
  const market = await createMarketPki();
  const { certificate } = await personalizeCard({
    card: cut.card,
    adminKey: Buffer.from(cut.adminKey),
    issuer,
    subject,
    pins: { ...TEST_PINS },
    anchors: [Buffer.from(market.root.certificate)],
  });
  return { certificate, subject, issuer, market };
}
