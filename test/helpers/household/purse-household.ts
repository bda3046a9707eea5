/**
 * A sandbox household with the purse for end-to-end tests of claims 4-6
 * (test/e2e/purse-*.test.ts): startSandboxHousehold (card emulator process,
 * sandbox market with its payment API, sandbox issuer, embedded MQTT broker
 * or an external one, the demo terminal) on free ports in a temporary data
 * directory, with the seams the purse tests need:
 *
 * - the card emulator can be SIGKILLed and restarted on the same image and
 *   line (an EmulatorProcess from household.ts takes over from the sandbox's
 *   own emulator process at the first restart, or at start with
 *   `emulatorLogLevel`, which also keeps its log lines);
 * - the gateway can stay the sandbox's in-process one, or be replaced by one
 *   built from the sandbox's configuration with changes (`configure`, e.g.
 *   an SMTP server), in-process or as a CHILD process (`homegate --data DIR
 *   gateway run`, the configuration written to <data>/gateway.json) that can
 *   be SIGKILLed and restarted;
 * - the card can be read directly (status, decision log) while no gateway
 *   holds the line;
 * - a terminal-side mail collector: one persistent MQTT session with the
 *   terminal's mailbox client id, kept connected, recording every message
 *   including redeliveries.
 *
 * Everything is stopped and the directory removed when the test ends.
 */
import { virtualSocketConfig } from './socket-card.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ExecutionContext } from 'ava';
import { AccessCard, type PinSource } from '../../../card-io/access-card/access-card.js';
import { loadTerminalProfile, type TerminalProfile } from '../../../card-io/access-card/terminal-profile.js';
import { GATEWAY_BROKER_USER } from '../../../gateway/notify/broker-users.js';
import { GATEWAY_PASSWORD_FILE } from '../../../deploy/sandbox/household/sandbox-mail.js';
import { connectHomeCard } from '../../../card-io/home-card/connect.js';
import type { SignedRecord } from '../../../card-io/home-card/decision-record.js';
import type { PurseStatus } from '../../../card-io/home-card/commands/index.js';
import { silentLogger, type Logger, type LogLevel } from '../../../card-io/base/log.js';
import { loadOrCreateMarketPki } from '../../../deploy/sandbox/market-pki.js';
import { loadGatewayConfig, type GatewayConfig } from '../../../gateway/config/gateway-config.js';
import { httpsJson } from '../../../gateway/emoney/https-json.js';
import { startGateway, type RunningGateway } from '../../../gateway/gateway.js';
import { HistoryStore, type HistoryEntry } from '../../../gateway/history/index.js';
import { HOMEGATE_BIN } from '../../../deploy/sandbox/household/emulator-child.js';
import {
  SANDBOX_MARKET,
  SANDBOX_PURSE,
  SANDBOX_SOCKET_CONTROL,
  startSandboxHousehold,
  type SandboxHousehold,
  type SandboxPorts,
} from '../../../deploy/sandbox/household/household.js';
import { DEMO_PINS } from '../../../deploy/sandbox/household/sandbox-card.js';
import { DEMO_TERMINAL } from '../../../deploy/sandbox/household/sandbox-registry.js';
import { derToPem } from '../../../provisioning/pki/index.js';
import { startEmulatorProcess, type EmulatorProcess } from './emulator-process.js';
import { freePort } from '../link-probes.js';
import { registerMailLogin, TOPIC_PREFIX } from './purse-mail.js';
import { ONE_FILE, SMALL_BOARD_MALLOC_ENV, SMALL_BOARD_NODE_OPTIONS, SMALL_BOARD_V8_FLAGS } from '../../../gateway/device/small-board-settings.js';
import { PACKAGE_ROOT } from '../../../deploy/one-file/build-one-file.js';

export { DEMO_PINS, SANDBOX_MARKET, SANDBOX_PURSE };

/** Answers the demo PINs, recording which were asked, in order. */
export function recordingPins(asked: string[] = [], pin2 = DEMO_PINS.pin2): PinSource & { asked: string[] } {
  const source = async (which: 'PIN1' | 'PIN2') => {
    asked.push(which);
    return which === 'PIN1' ? DEMO_PINS.pin1 : pin2;
  };
  return Object.assign(source, { asked });
}

// ---------------------------------------------------------------- gateway child process

/** `homegate --data DIR gateway run` as a child process, with its stderr (JSON log lines) kept. */
export interface GatewayProcess {
  readonly pid: number | undefined;
  /** Every line it wrote to stderr so far, over all restarts (bounded to the last 2 MB). */
  log(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again (after kill) on the same data directory and configuration. */
  restart(): Promise<void>;
  readonly running: boolean;
}

const GATEWAY_READY_MS = 60_000;

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * How the gateway process runs: `dist`, the compiled modules (bin/homegate.js), as in development;
 * `as-on-board`, the one-file gateway with the small-board settings, as a flashed board's service
 * starts it (gateway/device/small-board-settings.ts).
 */
export type GatewayForm = 'dist' | 'as-on-board';

function spawnGatewayReady(dataDir: string, logLevel: string, onStderr: (s: string) => void, form: GatewayForm, node: string): Promise<ChildProcess> {
  const env = { ...process.env };
  delete env.HOMEGATE_DATA;
  delete env.HOMEGATE_LOG_LEVEL;
  const run = ['--data', dataDir, '--log-level', logLevel, 'gateway', 'run'];
  const args = form === 'dist' ? [HOMEGATE_BIN, ...run] : [...SMALL_BOARD_V8_FLAGS, join(PACKAGE_ROOT, ONE_FILE), ...run];
  if (form === 'as-on-board') Object.assign(env, { NODE_OPTIONS: SMALL_BOARD_NODE_OPTIONS, ...SMALL_BOARD_MALLOC_ENV });
  const child = spawn(node, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  child.stderr!.setEncoding('utf8').on('data', onStderr);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the gateway process was not ready within ${GATEWAY_READY_MS / 1000} s`));
    }, GATEWAY_READY_MS);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`the gateway process exited (code ${code}) before it was ready`));
    };
    child.once('exit', onExit);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.includes('"ready"')) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(child);
    });
  });
}

export async function startGatewayProcess(dataDir: string, logLevel = 'info', form: GatewayForm = 'dist', node = process.execPath): Promise<GatewayProcess> {
  let stderr = '';
  const collect = (s: string) => {
    stderr += s;
    if (stderr.length > 4_000_000) stderr = stderr.slice(-2_000_000);
  };
  let child = await spawnGatewayReady(dataDir, logLevel, collect, form, node);
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (exited(child)) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await gone;
  };
  return {
    get pid() {
      return child.pid;
    },
    get running() {
      return !exited(child);
    },
    log: () => stderr,
    kill,
    async restart() {
      await kill('SIGKILL');
      child = await spawnGatewayReady(dataDir, logLevel, collect, form, node);
    },
  };
}

// ---------------------------------------------------------------- mail collector

export { collectMail, mailLoginFor, readMailUntil, registerMailLogin, TOPIC_PREFIX, type CollectedMail } from './purse-mail.js';

export interface PurseHouseholdOptions {
  /** An external broker (Mosquitto) instead of the sandbox's embedded one. */
  mqttUrl?: string;
  /**
   * Replace the sandbox's in-process gateway with one built from the
   * sandbox's configuration as changed here (e.g. `config.smtp = ...`).
   */
  configure?: (config: GatewayConfig) => void;
  /**
   * Run that gateway as a child process (`homegate gateway run`) instead of in the test process;
   * 'as-on-board': the one-file gateway with the small-board settings, as a flashed board runs it.
   */
  gatewayProcess?: boolean | 'as-on-board';
  /** The Node.js executable of that gateway process. Default: the one running the tests. */
  gatewayNode?: string;
  /** The in-process gateway's logger. Default silent. */
  logger?: Logger;
  /**
   * Run the card emulator at this --log-level from the start (the sandbox's
   * own runs at 'error'), its stderr kept: `cardLog()`. At 'info' it logs each
   * PAY, CANCEL and LOAD right after committing it.
   */
  emulatorLogLevel?: LogLevel;
  /** The card in a virtual socket, as `homegate sandbox` runs it (the gateway's `socketPerson` moves it). Default false. */
  socket?: boolean;
  /** Extra `card emulate` arguments (e.g. --slow-ms). */
  emulatorArgs?: readonly string[];
}

export interface CardRead {
  status: PurseStatus;
  /** The decision log, newest first. */
  log: SignedRecord[];
}

export interface PurseHousehold {
  readonly dataDir: string;
  readonly ports: SandboxPorts;
  readonly sandbox: SandboxHousehold;
  /** tcp://127.0.0.1:<card port>. */
  readonly cardDevice: string;
  readonly mqttUrl: string;
  readonly cardId: string;
  /** The card certificate (DER) and its public key: what verifies signed records and receipts. */
  readonly cardCertificate: Buffer;
  readonly cardPublicKey: KeyObject;
  /** The sandbox market's name in records (DF51): the first dNSName of its server certificate. */
  readonly marketServerName: string;
  /** The market CA (PEM), to call the market's payment API. */
  readonly marketCaPem: string;
  /** The household's name at the issuer (its account). */
  readonly issuerHousehold: string;
  readonly terminalId: string;
  readonly terminalMail: string;
  /** The gateway as it runs: in-process (`inProcess`) or as a child process (`process`). */
  readonly inProcess: RunningGateway | undefined;
  readonly process: GatewayProcess | undefined;
  profile(): Promise<TerminalProfile>;
  accessCard(pins?: PinSource): Promise<AccessCard>;
  /** POST /orders over the resumed session (PIN2, and PIN1 when the card session is not open). */
  createOrder(access: AccessCard, item: string, quantity?: number): Promise<MarketOrderAnswer>;
  /** GET /payment-api/orders/<id> at the sandbox market; throws PeerError (status 404) for an unknown order. */
  marketOrder(orderId: string): Promise<MarketOrderView>;
  /** What the card emulator wrote to stderr (its JSON log lines) since emulatorLogLevel replaced it; '' before. */
  cardLog(): string;
  /** SIGKILL the card emulator process. */
  killCard(): Promise<void>;
  /** Start the card emulator again on the same image and line. */
  restartCard(): Promise<void>;
  /** Purse status and decision log read directly from the card (no gateway may hold the line). */
  readCard(): Promise<CardRead>;
  /** Every archived entry, read from <data>/history (no gateway may be running). */
  readArchive(): Promise<HistoryEntry[]>;
  stop(): Promise<void>;
}

export interface MarketOrderAnswer {
  orderId: string;
  item: string;
  amount: number;
  currency: string;
  status: string;
}

export interface MarketOrderView {
  orderId: string;
  amount: number;
  currency: string;
  status: 'open' | 'paid' | 'cancelled';
  seq?: number;
  cardId?: string;
}

/** The gateway configuration exactly as startSandboxHousehold builds it in memory (it does not write it back). */
export async function sandboxGatewayConfig(sb: SandboxHousehold, ports: SandboxPorts): Promise<GatewayConfig> {
  const config = await loadGatewayConfig(join(sb.dataDir, 'gateway.json'));
  config.card.device = sb.cardDevice;
  config.terminalApi.host = '127.0.0.1';
  config.terminalApi.port = ports.gateway;
  config.mqtt = {
    url: sb.mqttUrl,
    clientId: 'homegate-gateway',
    gatewayId: 'gateway',
    topicPrefix: TOPIC_PREFIX,
    username: GATEWAY_BROKER_USER,
    passwordFile: GATEWAY_PASSWORD_FILE,
  };
  config.emoney.issuer = { url: sb.issuer.url, caFile: 'pki/issuer-ca.pem', certFile: 'pki/issuer-credential.pem', keyFile: 'pki/issuer-credential.key' };
  return config;
}

export async function startPurseHousehold(t: ExecutionContext, o: PurseHouseholdOptions = {}): Promise<PurseHousehold> {
  const dataDir = await mkdtemp(join(tmpdir(), 'homegate-purse-'));
  const stops: Array<() => Promise<unknown>> = [() => rm(dataDir, { recursive: true, force: true })];
  const stop = async () => {
    while (stops.length) await stops.pop()!().catch(() => undefined);
  };
  t.teardown(stop);

  const ports: SandboxPorts = { card: await freePort(), gateway: await freePort(), market: await freePort(), issuer: await freePort(), mqtt: await freePort() };
  const sandbox = await startSandboxHousehold({
    dataDir,
    ports,
    logger: silentLogger,
    say: () => undefined,
    ...(o.mqttUrl ? { mqttUrl: o.mqttUrl } : {}),
    ...(o.socket ? { socket: true } : {}),
    ...(o.emulatorArgs ? { emulatorArgs: o.emulatorArgs } : {}),
  });
  stops.push(() => sandbox.stop());
  const cardCertificate = sandbox.gateway.cards.certificate!;
  const cardId = sandbox.gateway.cards.cardId!;
  const terminal = sandbox.gateway.registry.listTerminals().find((x) => x.name === DEMO_TERMINAL.name)!;

  let emulator: EmulatorProcess | undefined;
  stops.push(() => emulator?.stop() ?? Promise.resolve());
  const imagePath = join(dataDir, 'sandbox', 'card.img');

  let inProcess: RunningGateway | undefined = sandbox.gateway;
  let gatewayProcess: GatewayProcess | undefined;
  const rebuild = o.configure !== undefined || o.gatewayProcess !== undefined || o.logger !== undefined; // the sandbox's own gateway logs nowhere
  const config = await sandboxGatewayConfig(sandbox, ports);
  // As the sandbox built it: a gateway started again here without the socket would wait for a card that answers only after a reset.
  if (o.socket) config.card.socket = virtualSocketConfig(SANDBOX_SOCKET_CONTROL);
  o.configure?.(config);
  if (rebuild) {
    await sandbox.gateway.stop();
    inProcess = undefined;
  }
  if (o.emulatorLogLevel) {
    await sandbox.emulator.stop();
    const socketArgs = o.socket ? ['--control', join(dataDir, SANDBOX_SOCKET_CONTROL)] : [];
    emulator = await startEmulatorProcess(sandbox.cardDevice, imagePath, o.emulatorLogLevel, { args: [...socketArgs, ...(o.emulatorArgs ?? [])] });
  }
  if (rebuild) {
    if (o.gatewayProcess) {
      await writeFile(join(dataDir, 'gateway.json'), JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
      gatewayProcess = await startGatewayProcess(dataDir, 'info', o.gatewayProcess === 'as-on-board' ? 'as-on-board' : 'dist', o.gatewayNode);
      const p = gatewayProcess;
      stops.push(() => p.kill('SIGKILL'));
    } else {
      const g = await startGateway({ dataDir, config, logger: o.logger ?? silentLogger });
      inProcess = g;
      stops.push(() => g.stop());
    }
  }

  const market = await loadOrCreateMarketPki(join(dataDir, 'sandbox', 'market'));
  const marketCaPem = derToPem(market.caCertificate);
  const profileDir = join(dataDir, 'terminals', DEMO_TERMINAL.name);
  const profile = () => loadTerminalProfile(profileDir);
  await registerMailLogin(terminal.id, profileDir);

  return {
    dataDir,
    ports,
    sandbox,
    cardDevice: sandbox.cardDevice,
    mqttUrl: sandbox.mqttUrl,
    cardId,
    cardCertificate,
    cardPublicKey: new X509Certificate(cardCertificate).publicKey,
    marketServerName: sandbox.market.serverName,
    marketCaPem,
    issuerHousehold: `household-${cardId}`,
    terminalId: terminal.id,
    terminalMail: terminal.mail,
    get inProcess() {
      return inProcess;
    },
    get process() {
      return gatewayProcess;
    },
    profile,
    async accessCard(pins = recordingPins()) {
      const access = new AccessCard(await profile(), pins);
      stops.push(async () => access.close());
      return access;
    },
    async createOrder(access, item, quantity = 1) {
      const { response } = await access.request(SANDBOX_MARKET, { method: 'POST', path: '/orders', body: JSON.stringify({ item, quantity }) });
      const body = JSON.parse(response.body.toString('utf8')) as MarketOrderAnswer;
      if (response.status !== 200) throw new Error(`POST /orders answered ${response.status}: ${response.body.toString('utf8')}`);
      return body;
    },
    marketOrder: (orderId) =>
      httpsJson<MarketOrderView>({
        url: `https://127.0.0.1:${ports.market}/payment-api/orders/${encodeURIComponent(orderId)}`,
        method: 'GET',
        ca: marketCaPem,
        servername: sandbox.market.serverName,
      }),
    cardLog: () => emulator?.stderr() ?? '',
    async killCard() {
      if (emulator) return emulator.kill('SIGKILL');
      const child = sandbox.emulator.process;
      if (exited(child)) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await gone;
    },
    async restartCard() {
      if (emulator) return emulator.restart();
      emulator = await startEmulatorProcess(sandbox.cardDevice, imagePath);
    },
    async readCard() {
      const conn = await connectHomeCard({ device: sandbox.cardDevice, openTimeoutMs: 10_000, commandTimeoutMs: 20_000 });
      try {
        await conn.card.select();
        const status = await conn.card.purseStatus();
        const seqs = await conn.card.logSeqs();
        const log: SignedRecord[] = [];
        for (let n = 1; n <= seqs.length; n++) log.push(await conn.card.readRecord(n));
        return { status, log };
      } finally {
        await conn.close();
      }
    },
    async readArchive() {
      const store = await HistoryStore.open({ dir: join(dataDir, 'history'), logger: silentLogger });
      return store.list();
    },
    stop,
  };
}

// ---------------------------------------------------------------- purse arithmetic

/** What the archive says about money: active (paid, not cancelled) decisions and loads. */
export function archiveSums(entries: readonly HistoryEntry[]): { active: number; loads: number; decisions: number } {
  let active = 0;
  let loads = 0;
  let decisions = 0;
  for (const e of entries) {
    if (e.kind === 'decision') {
      decisions++;
      if (e.status === 'paid') active += e.amount;
    }
    if (e.kind === 'load') loads += e.amount;
  }
  return { active, loads, decisions };
}
