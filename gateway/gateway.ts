/**
 * The gateway's composition root: every service is built here, from one
 * validated configuration, and passed to what needs it. No module-level
 * singletons; `startGateway` twice in one process gives two gateways.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Server as HttpServer } from 'node:http';
import type { Server } from 'node:https';
import { type AddressInfo, isIPv4 } from 'node:net';
import type { Logger } from '../card-io/base/log.js';
import { buildAdminRoutes } from './admin-api/admin-routes.js';
import { startAdminServer } from './admin-api/admin-server.js';
import { MarketAdmin } from './admin-api/market-admin.js';
import { MarketAuthorizer } from './authorization/market-authorizer.js';
import { CardService } from './card/card-service.js';
import { openCardSocket } from './card/open-card-socket.js';
import type { HouseholdCardId } from './card/socket-card-lifecycle.js';
import type { SocketSignals } from '../card-io/socket/socket-signals.js';
import type { SocketPerson } from '../card-io/socket/virtual-signals.js';
import { CardSessions } from './card/card-sessions.js';
import { PinThrottle } from './card/pin-throttle.js';
import { PinAdmin } from './admin-api/pin-admin.js';
import { dataPath, type GatewayConfig } from './config/gateway-config.js';
import { Registry } from './registry/index.js';
import { GATEWAY_PKI_FILES } from '../provisioning/gateway-pki-files.js';
import { primeMailbox } from './notify/prime-mailbox.js';
import { BROKER_USERS_FILE, removeBrokerUser } from './notify/broker-users.js';
import { AuthorizationError } from './authorization/authorization-error.js';
import { terminalApiRoutes } from './terminal-api/handlers.js';
import { SignedRequestVerifier } from './terminal-api/request-signature.js';
import { createTerminalApiServer } from './terminal-api/server.js';
import { createProxyState } from './proxy/index.js';
import { startPurse } from './emoney/start-purse.js';
import { GATEWAY_VERSION } from './version.js';
import { PairingService } from './pairing/pairing-service.js';
import { pairingRoutes } from './pairing/pairing-routes.js';
import { PendingCodes } from './pairing/pending-codes.js';
import { takeSnapshot } from './backup/data-snapshot.js';
import { GatewayEvents } from './events/gateway-events.js';
import { readSecretFile } from '../card-io/base/durable/secret-file.js';
import type { AuthorizationTrace } from './trace/authorization-trace.js';
import { reloadBroker } from './notify/broker-reload.js';
import { terminalMailbox } from './notify/mqtt-options.js';
import { startDashboard } from './dashboard/start-dashboard.js';
import type { Panel, VirtualCardSlot } from './panel/panel.js';
import { PanelError } from './panel/digital-io-plugin.js';

export interface StartGatewayOptions {
  dataDir: string;
  config: GatewayConfig;
  logger: Logger;
  /** Unix ms. Default Date.now. */
  clock?: () => number;
  /** The panel's gpio socket backend (card.socket.backend "gpio"), built from card.socket's pins. */
  gpioSocket?: () => SocketSignals;
  /** The virtual card socket's insert/remove, for `homegate panel insert|remove` (the sandbox). */
  cardSlot?: VirtualCardSlot;
  /** Stage timings of authorizations, for benchmarks (trace/authorization-trace.ts). Default: none, nothing measured. */
  trace?: AuthorizationTrace;
}

export interface RunningGateway {
  /** https://host:port of the terminal listener (port resolved when 0 was configured). */
  readonly url: string;
  readonly port: number;
  readonly registry: Registry;
  readonly cards: CardService;
  readonly sessions: CardSessions;
  /** What happened, for the MQTT state/events, the panel and the status endpoint. */
  readonly events: GatewayEvents;
  /** The hand of the virtual card socket (`homegate panel insert|remove`); undefined for other backends or none. */
  readonly socketPerson?: SocketPerson;
  /** The panel (LEDs, confirm button, buzzer) when `panel` is configured. */
  readonly panel: Panel | undefined;
  stop(): Promise<void>;
}

export async function startGateway(o: StartGatewayOptions): Promise<RunningGateway> {
  const { config, dataDir, logger } = o;
  const clock = o.clock ?? Date.now;
  const path = (p: string) => dataPath(dataDir, p);
  const events = new GatewayEvents();

  const registry = new Registry({ path: path(config.registryFile), logger: logger.child({ channel: 'registry' }), clock });
  await registry.open();
  const t1Overrides = { edc: config.card.edc, ifsc: config.card.ifsc, bwtMs: config.card.bwtMs };
  const socketOptions = config.card.socket;
  // The panel first: a gpio card socket drives its pins through the panel's board.
  // Its LEDs learn the card's state from the events that follow.
  let socketPerson: SocketPerson | undefined;
  // Imported only when configured: johnny-five and its dependencies are a few hundred modules a headless gateway never uses (docs/PERFORMANCE.md).
  const panel = config.panel
    ? await (await import('./panel/panel.js')).Panel.start({
        options: config.panel,
        events,
        logger: logger.child({ channel: 'panel' }),
        cardReady: false,
        cardSlot: o.cardSlot ?? {
          insert: () => (socketPerson ? socketPerson.insert() : Promise.reject(noVirtualSocket())),
          remove: () => (socketPerson ? socketPerson.remove() : Promise.reject(noVirtualSocket())),
        },
      })
    : undefined;
  const gpio = o.gpioSocket ?? (panel && socketOptions?.backend === 'gpio' ? () => panel.socketSignals(socketOptions) : undefined);
  const socket = socketOptions
    ? await openCardSocket({
        socket: socketOptions,
        device: config.card.device,
        baudRate: config.card.baudRate,
        dataDir,
        gpio,
        logger: logger.child({ channel: 'card' }),
      })
    : undefined;
  socketPerson = socket?.person;
  const cards = new CardService({
    device: config.card.device,
    logger: logger.child({ channel: 'card' }),
    t1: t1Overrides,
    link: { baudRate: config.card.baudRate },
    commandTimeoutMs: config.card.commandTimeoutMs,
    events,
    ...(socket
      ? {
          socket: {
            socket: socket.socket,
            baudRate: config.card.baudRate,
            clockHz: socketOptions?.clockHz,
            t1: t1Overrides,
            commandTimeoutMs: config.card.commandTimeoutMs,
            household: householdCardId(registry, config.card.householdCardId),
          },
        }
      : {}),
  });
  // A bare card line (no card.socket): line up and card read = activated; line down = removed.
  // In a socket the socket's lifecycle emits these itself (socket-card-lifecycle.ts).
  // Registered before the start, so the first activation is announced too (the panel's ready LED).
  if (!socket) {
    cards.onReset(() => {
      if (cards.status === 'present') events.emit('card-activated', { at: clock(), cardId: cards.cardId ?? '' });
      else events.emit('card-removed', { at: clock(), reason: 'line-down' });
    });
  }
  await cards.start();
  const throttle = new PinThrottle({ baseDelayMs: config.sessions.pinRetryDelayMs, maxDelayMs: config.sessions.pinRetryDelayMaxMs, clock });
  const sessions = new CardSessions({
    cards,
    logger: logger.child({ channel: 'sessions' }),
    idleTimeoutMs: config.sessions.idleTimeoutSeconds * 1000,
    throttle,
    events,
  });
  // A card inserted into the socket starts afresh: every terminal enters PIN1 again (a new card session).
  const offInserted = events.on('card-inserted', () => sessions.closeAll());
  const proxyState = createProxyState();
  const authorizer = new MarketAuthorizer({
    registry,
    cards,
    sessions,
    proxy: config.proxy,
    logger: logger.child({ channel: 'proxy' }),
    clock,
    state: proxyState,
    ...(o.trace ? { trace: o.trace } : {}),
  });
  const purse = await startPurse({
    dataDir,
    config,
    registry,
    cards,
    sessions,
    proxyState,
    logger: logger.child({ channel: 'purse' }),
    clock,
    events,
    ...(panel ? { confirmation: panel.confirmation } : {}),
  });
  const dashboard = startDashboard({ config, notifier: purse.notifier, events, sessions, registry, cards, logger, clock });
  const brokerReload = config.mqtt?.brokerReload;
  const reloaded = () => (brokerReload ? reloadBroker(path(brokerReload.pidFile), logger).then(() => undefined) : Promise.resolve());
  const verifier = new SignedRequestVerifier({ startedAt: clock(), clock });
  const log = logger.child({ channel: 'terminal-api' });

  // Provisioning (X.509 issuing: @peculiar/x509, its ASN.1 schemas, reflect-metadata, tsyringe: the largest of the packages
  // made lazy, docs/PERFORMANCE.md) is loaded at the first pairing or enrollment, not at start: most gateways run for weeks without one.
  const pki = async () => (await import('../provisioning/terminal-issuer.js')).loadTerminalIssuer(path('pki'));
  const pairing = new PairingService({
    registry,
    codes: new PendingCodes({ clock }),
    issuer: pki,
    cardCertificate: () => cards.certificate,
    ...(config.mqtt ? { brokerUsersFile: path(BROKER_USERS_FILE), mailbox: terminalMailbox(config.mqtt) } : {}),
    paired: async (terminalId, broker) => {
      events.emit('terminal-enrolled', { terminal: terminalId });
      if (!config.mqtt || !broker) return;
      await reloaded(); // Mosquitto reads the new broker user from its password file
      await primeMailbox({ url: config.mqtt.url, terminalId, topicPrefix: config.mqtt.topicPrefix, ...broker }).catch((err: unknown) =>
        logger.warn({ terminal: terminalId, err: (err as Error).message }, "could not open the terminal's mail session; its first mail read opens it"),
      );
    },
    logger: logger.child({ channel: 'pairing' }),
    clock,
  });
  const apiRoutes = terminalApiRoutes({
    version: GATEWAY_VERSION,
    cardStatus: () => cards.status,
    socketStatus: () => cards.socketSummary(),
    ...(panel ? { panelStatus: () => panel.publicStatus() } : {}),
    isUnlocked: (id) => sessions.isOpen(id),
    unlock: async (id, pin1) => {
      await sessions.unlock(id, pin1);
      return { idleTimeoutSeconds: config.sessions.idleTimeoutSeconds };
    },
    lock: (id) => sessions.lock(id),
    listMarkets: async () => registry.listMarkets().map((m) => ({ name: m.name, url: m.url })),
    authorize: (terminal, market, pin2) => authorizer.authorize(terminal, market, pin2),
    emoney: purse.manager,
    ...(config.mqtt ? { mailbox: terminalMailbox(config.mqtt) } : {}),
  });
  const routes = { ...apiRoutes, ...pairingRoutes(pairing, async () => (await pki()).root) };
  const intermediate = await readFile(path(`pki/${GATEWAY_PKI_FILES.enrollmentCa}`)).catch(() => undefined);
  const [cert, key, ca] = await Promise.all([
    readFile(path(config.terminalApi.certFile)),
    readSecretFile(path(config.terminalApi.keyFile)),
    readFile(path(config.terminalApi.caFile)),
  ]);
  const server: Server = createTerminalApiServer({
    cert: cert!,
    key: key!,
    // Also the enrollment intermediate, so a terminal that sends its certificate without the chain (some phones) is still verified.
    ca: [ca!, ...(intermediate ? [intermediate] : [])],
    routes,
    logger: log,
    identify: async (_der, fingerprint) => {
      const t = registry.findTerminalByFingerprint(fingerprint);
      if (!t) {
        log.warn({ fingerprint }, 'unregistered terminal refused');
        throw new AuthorizationError('terminal-unknown', 'This terminal is not registered with the gateway');
      }
      if (t.status !== 'active') {
        log.warn({ terminal: t.id }, 'revoked terminal refused');
        throw new AuthorizationError('terminal-revoked', 'This terminal has been revoked');
      }
      void registry.touchTerminal(t.id).catch(() => undefined);
      return { id: t.id, name: t.name, mail: t.mail };
    },
    verifySignedRequest: ({ jws, terminal, certificate, method, path: p }) => verifier.verify({ jws, certificate, terminal, method, path: p }),
    ...(o.trace ? { trace: o.trace } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.terminalApi.port, config.terminalApi.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const markets = new MarketAdmin({
    registry,
    cards,
    adminKeyFile: config.card.adminKeyFile ? path(config.card.adminKeyFile) : undefined,
    logger: logger.child({ channel: 'admin' }),
  });
  const host = config.terminalApi.host === '0.0.0.0' ? '127.0.0.1' : config.terminalApi.host;
  const enroll = async (name: string, mail: string) => {
    // The enrollment intermediate of a provisioned household, else the household root kept beside the gateway (sandbox).
    const householdCa = await pki();
    // Mail: the profile pins the card certificate and gets the terminal's own broker user (BROKER_USERS_FILE).
    const mailParams = {
      ...(cards.certificate ? { cardCertificate: cards.certificate } : {}),
      ...(config.mqtt ? { brokerUsersFile: path(BROKER_USERS_FILE) } : {}),
    };
    const gatewayUrl = `https://${host === '127.0.0.1' ? 'localhost' : host}:${port}`;
    const { enrollTerminal } = await import('./enrollment/enroll-terminal.js');
    const e = await enrollTerminal({ registry, householdCa, name, mail, gatewayUrl, terminalsDir: path('terminals'), logger, clock, ...mailParams });
    events.emit('terminal-enrolled', { terminal: e.terminal.id });
    if (config.mqtt && e.broker) {
      await reloaded();
      await primeMailbox({ url: config.mqtt.url, terminalId: e.terminal.id, topicPrefix: config.mqtt.topicPrefix, ...e.broker }).catch((err: unknown) =>
        logger.warn({ terminal: e.terminal.id, err: (err as Error).message }, "could not open the terminal's mail session; its first mail read opens it"),
      );
    }
    return { id: e.terminal.id, name: e.terminal.name, profileDir: e.profileDir };
  };
  const revokeTerminal = async (id: string) => {
    await sessions.lock(id, 'revoked').catch(() => undefined);
    events.emit('terminal-revoked', { terminal: id });
    // Its broker login goes too (Mosquitto: after the next reload of the password file).
    if (config.mqtt) {
      await removeBrokerUser(path(BROKER_USERS_FILE), id).catch((err: unknown) =>
        logger.warn({ terminal: id, err: (err as Error).message }, "could not remove the revoked terminal's broker user"),
      );
      await reloaded();
    }
  };
  const adminLogger = logger.child({ channel: 'admin' });
  // Without a URL from the admin, the code names this gateway as the LAN knows it: <host name>.local (mDNS, avahi), as its certificate does.
  const defaultGatewayUrl =
    config.terminalApi.host === '0.0.0.0' ? `https://${hostname()}.local:${port}` : `https://${host === '127.0.0.1' ? 'localhost' : host}:${port}`;
  // Advertised by mDNS, the code needs no URL (shorter, and right even when the gateway's address changes).
  const pairingCode = (name: string, mail: string, gatewayUrl?: string) =>
    pairing.createCode(name, mail, gatewayUrl ?? (config.pairing.advertise ? undefined : defaultGatewayUrl));
  // Between money operations (the purse's gate), with no card command running (the card's mutex).
  const snapshot = () => purse.gate.exclusive(() => cards.paused(() => takeSnapshot(dataDir, config.adminSocket)));
  const adminRoutes = buildAdminRoutes({
    markets,
    registry,
    enroll,
    pairingCode,
    snapshot,
    revoked: revokeTerminal,
    pins: new PinAdmin(sessions, adminLogger),
    panel,
  });
  const admin: HttpServer = await startAdminServer(path(config.adminSocket), adminRoutes, adminLogger);
  // multicast-dns is loaded only when the gateway advertises itself (pairing.advertise, off by default).
  const advertisement = config.pairing.advertise
    ? (await import('./pairing/mdns-service.js')).advertiseGateway({
        instance: config.pairing.instance ?? hostname(),
        hostName: hostname(),
        port,
        // A listener bound to one address is announced with that address only.
        ...(isIPv4(config.terminalApi.host) && config.terminalApi.host !== '0.0.0.0' ? { addresses: [config.terminalApi.host] } : {}),
        mdnsPort: config.pairing.mdnsPort,
        logger,
      })
    : undefined;
  logger.info({ port, card: cards.status }, 'gateway started');

  return {
    url: `https://${host}:${port}`,
    port,
    registry,
    cards,
    sessions,
    events,
    ...(socket?.person ? { socketPerson: socket.person } : {}),
    panel,
    async stop() {
      offInserted();
      dashboard?.stop();
      sessions.closeAll();
      await Promise.all([close(server), close(admin), advertisement?.stop()]);
      await purse.stop();
      // The card first: a gpio socket deactivates it (RST low, VCC off) through the panel's board, which must still be open.
      await cards.stop();
      await panel?.close();
    },
  };
}

/** The household's card id, kept in the registry's settings: recorded at the first activation in a socket. */
/** The card configured in gateway.json, else the one recorded at the first activation (trust on first use). */
function householdCardId(registry: Registry, configured: string | undefined): HouseholdCardId {
  return {
    get: () => {
      if (configured) return configured;
      const id = registry.getSettings().householdCardId;
      return typeof id === 'string' ? id : undefined;
    },
    set: async (cardId) => {
      if (!configured) await registry.updateSettings({ householdCardId: cardId });
    },
  };
}

function noVirtualSocket(): PanelError {
  return new PanelError('no-socket', 'This gateway has no virtual card socket to insert a card into or remove it from', {});
}

function close(s: { close(cb: (e?: Error) => void): unknown; closeAllConnections?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => resolve());
    s.closeAllConnections?.();
  });
}
