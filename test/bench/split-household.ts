/**
 * The benchmark household split into the processes a real household has, so
 * that each one's CPU and memory is its own:
 *
 * - the card emulator (`homegate card emulate`, TCP line), as in the sandbox;
 * - the peers (bench-peers.ts): the sandbox market and the MQTT broker;
 * - the gateway ALONE: `homegate gateway run --config <data>/bench-gateway.json`,
 *   started with memory-probe.ts preloaded (bench only) so its heap can be
 *   read by phase.
 *
 * The card sits behind a virtual card socket by default (`cardLine`
 * 'socket'): the emulator serves its contacts on a control channel, the
 * gateway resets it and reads its ATR, and so uses the ATR's T=1 parameters
 * (IFSC 254, the card's EDC and BWT) as a gateway with a real card socket
 * does. 'bare' is the card on a bare line as before the socket existed: no
 * ATR, so T=1 defaults (IFSC 32).
 *
 * The data directory is one `homegate sandbox --once` prepared
 * (delegated-child.ts). Start-up figures are taken from the moment the
 * gateway process is spawned: its `ready` line, and the broker seeing the
 * retained `online` availability it publishes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HOMEGATE_BIN, spawnEmulator, type EmulatorChild } from '../../deploy/sandbox/household/emulator-child.js';
import type { SandboxPorts } from '../../deploy/sandbox/household/household.js';
import { GATEWAY_PASSWORD_FILE } from '../../deploy/sandbox/household/sandbox-mail.js';
import { virtualSocketConfig } from '../../deploy/sandbox/household/socket-card-session.js';
import { readProcCpuMs } from './delegated-stats.js';
import { ONE_FILE, PACKAGE_ROOT } from '../../deploy/one-file/build-one-file.js';
import { GATEWAY_BROKER_USER } from '../../gateway/notify/broker-users.js';
import { DEFAULT_MQTT_CLIENT_ID, DEFAULT_TOPIC_PREFIX } from '../../gateway/notify/mqtt-options.js';

/**
 * Which form of the gateway runs: BENCH_GATEWAY_ENTRY `dist` (default: bin/homegate.js, the compiled
 * modules, as in development and the tests) or `one-file` (dist/homegate.cjs, what a flashed board runs).
 */
export function gatewayEntry(): string {
  const entry = process.env.BENCH_GATEWAY_ENTRY ?? 'dist';
  if (entry === 'dist' || entry === '') return HOMEGATE_BIN;
  if (entry === 'one-file') return join(PACKAGE_ROOT, ONE_FILE);
  throw new Error(`BENCH_GATEWAY_ENTRY must be dist or one-file, got ${JSON.stringify(entry)}`);
}

/** How the gateway reaches the card: behind a virtual socket (ATR: IFSC 254) or on a bare line (T=1 defaults: IFSC 32). */
export type BenchCardLine = 'socket' | 'bare';

/** The emulator's control channel, relative to the data directory (card.socket.control is). */
const BENCH_SOCKET_CONTROL = 'bench-card-socket.sock';

const PEERS_ENTRY = fileURLToPath(new URL('./bench-peers.js', import.meta.url));
const PROBE_ENTRY = fileURLToPath(new URL('./memory-probe.cjs', import.meta.url));

interface JsonLine {
  event?: string;
  payload?: string;
  at?: number;
}

/** A child whose stdout is JSON lines; `next(pred)` resolves with the first line (seen or to come) that matches. */
export class LineChild {
  readonly lines: JsonLine[] = [];
  readonly #waiters: Array<{ pred: (l: JsonLine) => boolean; resolve: (l: JsonLine) => void }> = [];
  #tail = '';

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let l: JsonLine;
      try {
        l = JSON.parse(text) as JsonLine;
      } catch {
        return;
      }
      this.lines.push(l);
      for (const w of [...this.#waiters]) {
        if (w.pred(l)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(l);
        }
      }
    });
    child.stderr?.on('data', (c: Buffer) => {
      this.#tail = (this.#tail + c.toString('utf8')).slice(-4096);
    });
  }

  next(pred: (l: JsonLine) => boolean, what: string, timeoutMs = 60_000): Promise<JsonLine> {
    const seen = this.lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms; stderr: ${this.#tail}`)), timeoutMs);
      const onExit = (code: number | null) => reject(new Error(`${what}: the process exited (${code}) first; stderr: ${this.#tail}`));
      this.child.once('exit', onExit);
      this.#waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          this.child.off('exit', onExit);
          resolve(l);
        },
      });
    });
  }

  stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
      c.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      c.kill('SIGTERM');
    });
  }
}

/**
 * `<data>/bench-gateway.json`: the sandbox's gateway.json with the bench's ports, its broker login,
 * `proxy.reuseSessionCertificate`, and `card.socket` when the card sits in the virtual socket.
 */
export async function writeBenchGatewayConfig(dataDir: string, ports: SandboxPorts, reuse: boolean, cardLine: BenchCardLine): Promise<string> {
  const config = JSON.parse(await readFile(join(dataDir, 'gateway.json'), 'utf8')) as Record<string, unknown>;
  const { socket: _socket, ...card } = config.card as Record<string, unknown>;
  config.card = {
    ...card,
    device: `tcp://127.0.0.1:${ports.card}`,
    ...(cardLine === 'socket' ? { socket: virtualSocketConfig(BENCH_SOCKET_CONTROL) } : {}),
  };
  config.terminalApi = { ...(config.terminalApi as object), host: '127.0.0.1', port: ports.gateway };
  config.mqtt = {
    url: `mqtt://127.0.0.1:${ports.mqtt}`,
    clientId: DEFAULT_MQTT_CLIENT_ID,
    topicPrefix: DEFAULT_TOPIC_PREFIX,
    username: GATEWAY_BROKER_USER,
    passwordFile: GATEWAY_PASSWORD_FILE,
  };
  config.proxy = { ...((config.proxy as object | undefined) ?? {}), reuseSessionCertificate: reuse };
  const file = join(dataDir, 'bench-gateway.json');
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return file;
}

export interface GatewayStartup {
  /** Spawn → the `ready` line of `gateway run` (terminal listener up), ms. */
  toReadyMs: number;
  /** Spawn → the broker received `online` on the availability topic from this gateway, ms. */
  toOnlineMs: number;
  /** Spawn → `firstUse` (started at the ready line) finished, ms; null without one. */
  toFirstUseMs: number | null;
  /**
   * CPU the gateway process used until its ready line, ms (/proc, 10 ms steps): the start-up's cost
   * without the waiting, steadier than wall time on a busy machine.
   */
  cpuMsToReady: number;
}

export interface SplitHousehold {
  readonly gatewayPid: number;
  readonly peersPid: number;
  readonly emulatorPid: number;
  /** Unix ms when the gateway process was spawned. */
  readonly gatewaySpawnedAt: number;
  readonly startup: GatewayStartup;
  /** Heap and RSS of the gateway now, labelled `phase` (memory-probe.ts). */
  probe(phase: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export interface GatewayPeers {
  readonly peersPid: number;
  readonly emulatorPid: number;
  /** The peers' JSON lines (availability events). */
  readonly peers: LineChild;
  /** Also ends a process the caller registered with `adopt`. */
  stop(): Promise<void>;
  /** Stop `child` too, first, when these stop (and if the benchmark process exits). */
  adopt(child: ChildProcess, stop: () => Promise<void>): void;
}

/** The card emulator (in its virtual socket, or on a bare line) and the peers (market, broker): everything but the gateway. */
export async function startGatewayPeers(dataDir: string, ports: SandboxPorts, cardLine: BenchCardLine): Promise<GatewayPeers> {
  const stops: Array<() => Promise<void>> = [];
  // If the benchmark process dies, do not leave the household running (an 'exit' handler cannot wait).
  const children: ChildProcess[] = [];
  const onExit = () => {
    for (const c of children) c.kill('SIGTERM');
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    for (const s of stops.reverse()) await s().catch(() => undefined);
    stops.length = 0;
  };
  const adopt = (child: ChildProcess, stopChild: () => Promise<void>) => {
    children.push(child);
    stops.push(stopChild);
  };
  try {
    const control = cardLine === 'socket' ? ['--control', join(dataDir, BENCH_SOCKET_CONTROL)] : [];
    const emulator: EmulatorChild = await spawnEmulator(`tcp://127.0.0.1:${ports.card}`, join(dataDir, 'sandbox', 'card.img'), control);
    adopt(emulator.process, () => emulator.stop());
    const peers = new LineChild(
      spawn(process.execPath, [PEERS_ENTRY, dataDir, String(ports.market), String(ports.mqtt)], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    adopt(peers.child, () => peers.stop());
    await peers.next((l) => l.event === 'ready', 'bench peers ready');
    return { peersPid: peers.child.pid!, emulatorPid: emulator.process.pid!, peers, stop, adopt };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Start emulator, peers and gateway. `firstUse`, when given, runs as soon as
 * the gateway prints its ready line (e.g. unlock + the first authorization).
 */
export async function startSplitHousehold(
  dataDir: string,
  ports: SandboxPorts,
  reuse: boolean,
  firstUse?: () => Promise<unknown>,
  cardLine: BenchCardLine = 'socket',
): Promise<SplitHousehold> {
  const configFile = await writeBenchGatewayConfig(dataDir, ports, reuse, cardLine);
  const probeFile = join(dataDir, `gateway-probe-${process.pid}-${Date.now()}.jsonl`);
  const household = await startGatewayPeers(dataDir, ports, cardLine);
  const stop = async () => {
    await household.stop();
    await rm(probeFile, { force: true });
    await rm(`${probeFile}.phase`, { force: true });
  };
  try {
    const { peers } = household;
    // BENCH_GATEWAY_NODE_ARGS: extra Node flags for the gateway, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where its time goes.
    const extra = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const args = [
      ...extra,
      '--expose-gc',
      '--require',
      PROBE_ENTRY,
      gatewayEntry(),
      '--data',
      dataDir,
      '--log-level',
      'error',
      'gateway',
      'run',
      '--config',
      configFile,
    ];
    const gatewaySpawnedAt = Date.now();
    const env = { ...process.env, HOMEGATE_BENCH_PROBE: probeFile, HOMEGATE_BENCH_PROBE_GC: '1' };
    const gateway = new LineChild(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env }));
    household.adopt(gateway.child, () => gateway.stop());
    let cpuMsToReady = Number.NaN;
    const ready = gateway
      .next((l) => l.event === 'ready', 'gateway run ready')
      .then(() => {
        cpuMsToReady = readProcCpuMs(gateway.child.pid!);
        return Date.now();
      });
    const online = peers.next((l) => l.event === 'availability' && l.payload === 'online' && (l.at ?? 0) >= gatewaySpawnedAt, 'gateway online');
    const used = firstUse ? ready.then(firstUse).then(() => Date.now()) : Promise.resolve(null);
    const [readyAt, onlineLine, usedAt] = await Promise.all([ready, online, used]);
    const startup = {
      toReadyMs: readyAt - gatewaySpawnedAt,
      toOnlineMs: (onlineLine.at ?? Number.NaN) - gatewaySpawnedAt,
      toFirstUseMs: usedAt === null ? null : usedAt - gatewaySpawnedAt,
      cpuMsToReady,
    };

    let probes = 0;
    const probe = async (phase: string): Promise<Record<string, unknown>> => {
      probes++;
      await writeFile(`${probeFile}.phase`, phase);
      gateway.child.kill('SIGUSR2');
      for (let i = 0; i < 200; i++) {
        const lines = (await readFile(probeFile, 'utf8').catch(() => '')).split('\n').filter(Boolean);
        if (lines.length >= probes) return JSON.parse(lines[probes - 1]!) as Record<string, unknown>;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`the gateway's memory probe did not answer (${phase})`);
    };
    return {
      gatewayPid: gateway.child.pid!,
      peersPid: household.peersPid,
      emulatorPid: household.emulatorPid,
      gatewaySpawnedAt,
      startup,
      probe,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
