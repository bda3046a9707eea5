/**
 * The sandbox household (`homegate sandbox`, `npm start`): everything on one
 * machine, nothing to install. On first run it creates the household CA, the
 * sandbox issuer CA, the market's PKI, a card image personalized with the
 * demo PINs, the gateway's certificate and configuration, the registered
 * market "sandbox" and the enrolled demo terminal; a second run reuses them.
 * The card emulator runs as its own process on a TCP virtual serial line; the
 * market and the gateway run here. With `socket` (what `homegate sandbox`
 * does), the card sits in a virtual socket: the emulator serves its contacts
 * on `<data>/card-socket.sock`, answers every reset with its ATR, and the
 * gateway's `socketPerson` inserts and pulls it (`homegate panel insert|remove`).
 */
import { join } from 'node:path';
import { connectHomeCard } from '../../../card-io/home-card/connect.js';
import type { HomeCard } from '../../../card-io/home-card/home-card.js';
import { virtualSocketConfig, withSocketCard } from './socket-card-session.js';
import type { Logger } from '../../../card-io/base/log.js';
import { loadOrCreateMarketPki, type MarketPki } from '../market-pki.js';
import { startSandboxMarket, type SandboxMarket } from '../market/index.js';
import { derToPem } from '../../../provisioning/pki/index.js';
import { loadGatewayConfig } from '../../../gateway/config/gateway-config.js';
import { startGateway, type RunningGateway } from '../../../gateway/gateway.js';
import { setupGateway } from '../../../gateway/setup/gateway-setup.js';
import { spawnEmulator, type EmulatorChild } from './emulator-child.js';
import { issueHouseholdCredential, loadOrCreateIssuerPki } from '../issuer-pki.js';
import { startSandboxIssuer, type SandboxIssuer } from '../issuer/index.js';
import { startEmbeddedBroker } from '../../../gateway/notify/embedded-broker.js';
import { primeMailbox } from '../../../gateway/notify/prime-mailbox.js';
import { BROKER_USERS_FILE } from '../../../gateway/notify/broker-users.js';
import { DEFAULT_MQTT_CLIENT_ID, DEFAULT_TOPIC_PREFIX } from '../../../gateway/notify/mqtt-options.js';
import { ensureDashboardBrokerUser, ensureGatewayBrokerUser, terminalBrokerLogins } from './sandbox-mail.js';
import { Registry } from '../../../gateway/registry/index.js';
import { dataPath } from '../../../gateway/config/gateway-config.js';
import { access } from 'node:fs/promises';
import { assertPortFree } from './port-check.js';
import { ensureMarketAnchor, ensurePersonalized, prepareSandboxCard } from './sandbox-card.js';
import { ensureSandboxRegistry } from './sandbox-registry.js';

export const SANDBOX_MARKET = 'sandbox';

export interface SandboxPorts {
  card: number;
  gateway: number;
  market: number;
  issuer: number;
  /** The embedded MQTT broker; ignored when `mqttUrl` points at an external one. */
  mqtt: number;
}

/** 1884, not 1883: a household's own Mosquitto usually has 1883. */
export const DEFAULT_SANDBOX_PORTS: SandboxPorts = { card: 7816, gateway: 8443, market: 8444, issuer: 8445, mqtt: 1884 };

/** The sandbox card's purse (documented in README.md): EUR, 100.00 to start. */
export const SANDBOX_PURSE = { currency: 'EUR', initialBalance: 10_000, maxBalance: 100_000, perPaymentLimit: 20_000, dailyLimit: 50_000 } as const;

export interface SandboxHousehold {
  readonly dataDir: string;
  readonly cardDevice: string;
  readonly gateway: RunningGateway;
  readonly market: SandboxMarket;
  readonly emulator: EmulatorChild;
  readonly issuer: SandboxIssuer;
  /** mqtt://host:port of the broker the gateway publishes mail to. */
  readonly mqttUrl: string;
  stop(): Promise<void>;
}

export interface StartSandboxOptions {
  dataDir: string;
  ports: SandboxPorts;
  logger: Logger;
  /** One line per step, for people. */
  say: (line: string) => void;
  /** An external broker instead of the embedded one, e.g. mqtt://127.0.0.1:1883 (Mosquitto). */
  mqttUrl?: string;
  /**
   * The card in a virtual socket (card.socket virtual). Default false: the
   * line coming up is the card, as the fault tests that restart the emulator
   * on a bare line expect.
   */
  socket?: boolean;
  /** Extra `card emulate` arguments (tests: --slow-ms). */
  emulatorArgs?: readonly string[];
}

/** The emulator's control channel in the data directory (a unix socket). */
export const SANDBOX_SOCKET_CONTROL = 'card-socket.sock';

export async function startSandboxHousehold(o: StartSandboxOptions): Promise<SandboxHousehold> {
  const { dataDir, ports, logger, say } = o;
  await assertPortFree(ports.card, 'card line', '--card-port');
  await assertPortFree(ports.gateway, 'gateway', '--gateway-port');
  await assertPortFree(ports.market, 'sandbox market', '--market-port');
  await assertPortFree(ports.issuer, 'sandbox issuer', '--issuer-port');
  if (!o.mqttUrl) await assertPortFree(ports.mqtt, 'embedded MQTT broker', '--mqtt-port (or use an external broker with --mqtt URL)');

  const files = await prepareSandboxCard(dataDir);
  const marketPki: MarketPki = await loadOrCreateMarketPki(join(dataDir, 'sandbox', 'market'));
  const issuerPki = await loadOrCreateIssuerPki(join(dataDir, 'sandbox', 'issuer'), files.issuer);
  say(files.created ? 'new sandbox data: issuer CA, card image, market PKI' : 'reusing the sandbox data');

  const cardDevice = `tcp://127.0.0.1:${ports.card}`;
  const control = o.socket ? join(dataDir, SANDBOX_SOCKET_CONTROL) : undefined;
  const emulator = await spawnEmulator(cardDevice, files.imagePath, [...(control ? ['--control', control] : []), ...(o.emulatorArgs ?? [])]);
  /** Set-up work on the card: on the bare line, or activated through the socket. */
  const withCard = async <T>(fn: (card: HomeCard) => Promise<T>): Promise<T> => {
    if (control) return withSocketCard(cardDevice, control, fn, logger);
    const conn = await connectHomeCard({ device: cardDevice, logger });
    try {
      return await fn(conn.card);
    } finally {
      await conn.close();
    }
  };
  const stops: Array<() => Promise<void>> = [() => emulator.stop()];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    say(`home card emulator running on ${cardDevice} (pid ${emulator.process.pid})${control ? `, in a virtual socket (${control})` : ''}`);
    const cardInfo = await withCard(async (card) => {
      const purse = { ...SANDBOX_PURSE, issuerLoadKey: issuerPki.loadPublicKey };
      if (await ensurePersonalized(card, files, [marketPki.caCertificate], purse)) {
        say('card personalized: key generated on the card, certified by the issuer, PINs set, purse with 100.00 EUR, locked');
      }
      await ensureMarketAnchor(card, files, marketPki.caCertificate);
      return readCardInfo(card);
    });
    const cardId = cardInfo.cardId ?? 'unknown';
    const household = `household-${cardId}`;
    if (!(await exists(join(dataDir, 'pki', 'issuer-credential.pem')))) await issueHouseholdCredential(files.issuer, household, { dir: join(dataDir, 'pki') });
    const issuer = await startSandboxIssuer({
      port: ports.issuer,
      serverCert: issuerPki.serverCertificate,
      serverKey: issuerPki.serverKey,
      clientCa: files.issuer.certificate,
      loadKey: issuerPki.loadKey,
      accounts: [{ household, cards: [cardId], balance: 1_000_000, currency: 'EUR' }],
    });
    stops.push(() => issuer.stop());
    say(`sandbox issuer at ${issuer.url} (household account 10000.00 EUR)`);
    let mqttUrl = o.mqttUrl;
    const brokerUsersFile = dataPath(dataDir, BROKER_USERS_FILE);
    const gatewayBrokerUser = await ensureGatewayBrokerUser(dataDir);
    await ensureDashboardBrokerUser(dataDir); // for Home Assistant: docs/MQTT.md
    if (!mqttUrl) {
      // Users and ACL as on the household's Mosquitto (deploy/mosquitto): no anonymous client, client ids tied to users.
      const broker = await startEmbeddedBroker({ port: ports.mqtt, logger, passwordFile: brokerUsersFile, topicPrefix: DEFAULT_TOPIC_PREFIX });
      stops.push(() => broker.stop());
      mqttUrl = broker.url;
      say(`embedded MQTT broker at ${mqttUrl} (dashboards: user homegate-dashboard, password in mqtt/dashboard.password; docs/MQTT.md)`);
    }
    const { configFile } = await setupGateway({ dataDir, cardDevice, port: ports.gateway, adminKeyFile: 'sandbox/card-admin.key' });
    const config = await loadGatewayConfig(configFile);
    // The sandbox binds loopback only and follows the ports given on the command line.
    config.card.device = cardDevice;
    if (control) config.card.socket = virtualSocketConfig(SANDBOX_SOCKET_CONTROL);
    config.terminalApi.host = '127.0.0.1';
    config.terminalApi.port = ports.gateway;
    config.mqtt = { url: mqttUrl, clientId: DEFAULT_MQTT_CLIENT_ID, topicPrefix: DEFAULT_TOPIC_PREFIX, ...gatewayBrokerUser };
    config.emoney.issuer = { url: issuer.url, caFile: 'pki/issuer-ca.pem', certFile: 'pki/issuer-credential.pem', keyFile: 'pki/issuer-credential.key' };
    const gatewayUrl = `https://localhost:${ports.gateway}`;
    await ensureSandboxRegistry({
      dataDir,
      registryFile: config.registryFile,
      gatewayUrl,
      market: { name: SANDBOX_MARKET, url: `https://localhost:${ports.market}`, anchorPem: derToPem(marketPki.caCertificate) },
      logger,
      mail: { brokerUsersFile, ...(cardInfo.certificate ? { cardCertificate: cardInfo.certificate } : {}) },
    });

    const market = await startSandboxMarket({
      port: ports.market,
      serverCert: marketPki.serverCertificate,
      serverKey: marketPki.serverKey,
      clientCa: files.issuer.certificate,
      signer: { certificate: marketPki.signingCertificate, privateKey: marketPki.signingKey },
    });
    stops.push(() => market.stop());
    say(`sandbox market at ${market.url} (trusts the issuer CA, session tickets on)`);

    if (!o.mqttUrl) {
      // A fresh in-memory broker: open the demo terminal's mail session before anything is mailed.
      const reg = new Registry({ path: dataPath(dataDir, config.registryFile), logger });
      await reg.open();
      const active = new Set(
        reg
          .listTerminals()
          .filter((x) => x.status === 'active')
          .map((x) => x.id),
      );
      // Each session is opened with that terminal's own login: the broker ties its client id to it.
      for (const login of await terminalBrokerLogins(dataDir, active)) {
        await primeMailbox({ url: mqttUrl, terminalId: login.username, topicPrefix: config.mqtt.topicPrefix, ...login });
      }
    }
    const gateway = await startGateway({ dataDir, config, logger });
    stops.push(() => gateway.stop());
    say(`gateway listening at ${gatewayUrl} (card ${gateway.cards.status})`);
    return { dataDir, cardDevice, gateway, market, emulator, issuer, mqttUrl, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

async function readCardInfo(card: HomeCard): Promise<{ cardId?: string; certificate?: Buffer }> {
  const cardId = (await card.select()).cardId;
  const certificate = (await card.info()).certificate;
  return { ...(cardId ? { cardId } : {}), ...(certificate ? { certificate } : {}) };
}
