/**
 * The sandbox household (`homegate sandbox`, `npm start`): everything on one
 * machine, nothing to install. On first run it creates the household CA, the
 * sandbox issuer CA, the market's PKI, a card image personalized with the
 * demo PINs, the gateway's certificate and configuration, the registered
 * market "sandbox" and the enrolled demo terminal; a second run reuses them.
 * The card emulator runs as its own process on a TCP virtual serial line; the
 * market and the gateway run here.
 */
import { join } from 'node:path';
import { connectHomeCard } from '../../card-io/home-card/connect.js';
import type { Logger } from '../../card-io/log.js';
import { loadOrCreateMarketPki, type MarketPki } from '../../deploy/sandbox/market-pki.js';
import { startSandboxMarket, type SandboxMarket } from '../../deploy/sandbox/market/index.js';
import { derToPem } from '../../provisioning/pki/index.js';
import { loadGatewayConfig } from '../config/gateway-config.js';
import { startGateway, type RunningGateway } from '../gateway.js';
import { setupGateway } from '../setup/gateway-setup.js';
import { spawnEmulator, type EmulatorChild } from './emulator-child.js';
import { assertPortFree } from './port-check.js';
import { ensureMarketAnchor, ensurePersonalized, prepareSandboxCard } from './sandbox-card.js';
import { ensureSandboxRegistry } from './sandbox-registry.js';

export const SANDBOX_MARKET = 'sandbox';

export interface SandboxPorts {
  card: number;
  gateway: number;
  market: number;
}

export const DEFAULT_SANDBOX_PORTS: SandboxPorts = { card: 7816, gateway: 8443, market: 8444 };

export interface SandboxHousehold {
  readonly dataDir: string;
  readonly cardDevice: string;
  readonly gateway: RunningGateway;
  readonly market: SandboxMarket;
  readonly emulator: EmulatorChild;
  stop(): Promise<void>;
}

export interface StartSandboxOptions {
  dataDir: string;
  ports: SandboxPorts;
  logger: Logger;
  /** One line per step, for people. */
  say: (line: string) => void;
}

export async function startSandboxHousehold(o: StartSandboxOptions): Promise<SandboxHousehold> {
  const { dataDir, ports, logger, say } = o;
  await assertPortFree(ports.card, 'card line', '--card-port');
  await assertPortFree(ports.gateway, 'gateway', '--gateway-port');
  await assertPortFree(ports.market, 'sandbox market', '--market-port');

  const files = await prepareSandboxCard(dataDir);
  const marketPki: MarketPki = await loadOrCreateMarketPki(join(dataDir, 'sandbox', 'market'));
  say(files.created ? 'new sandbox data: issuer CA, card image, market PKI' : 'reusing the sandbox data');

  const cardDevice = `tcp://127.0.0.1:${ports.card}`;
  const emulator = await spawnEmulator(cardDevice, files.imagePath);
  const stops: Array<() => Promise<void>> = [() => emulator.stop()];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    say(`home card emulator running on ${cardDevice} (pid ${emulator.process.pid})`);
    const conn = await connectHomeCard({ device: cardDevice, logger });
    try {
      if (await ensurePersonalized(conn.card, files, [marketPki.caCertificate])) say('card personalized: key generated on the card, certified by the issuer, PINs set, locked');
      await ensureMarketAnchor(conn.card, files, marketPki.caCertificate);
    } finally {
      await conn.close();
    }

    const { configFile } = await setupGateway({ dataDir, cardDevice, port: ports.gateway, adminKeyFile: 'sandbox/card-admin.key' });
    const config = await loadGatewayConfig(configFile);
    // The sandbox binds loopback only and follows the ports given on the command line.
    config.card.device = cardDevice;
    config.terminalApi.host = '127.0.0.1';
    config.terminalApi.port = ports.gateway;
    const gatewayUrl = `https://localhost:${ports.gateway}`;
    await ensureSandboxRegistry({
      dataDir,
      registryFile: config.registryFile,
      gatewayUrl,
      market: { name: SANDBOX_MARKET, url: `https://localhost:${ports.market}`, anchorPem: derToPem(marketPki.caCertificate) },
      logger,
    });

    const market = await startSandboxMarket({ port: ports.market, serverCert: marketPki.serverCertificate, serverKey: marketPki.serverKey, clientCa: files.issuer.certificate });
    stops.push(() => market.stop());
    say(`sandbox market at ${market.url} (trusts the issuer CA, session tickets on)`);

    const gateway = await startGateway({ dataDir, config, logger });
    stops.push(() => gateway.stop());
    say(`gateway listening at ${gatewayUrl} (card ${gateway.cards.status})`);
    return { dataDir, cardDevice, gateway, market, emulator, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
