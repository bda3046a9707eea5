/**
 * Runs a real Mosquitto for a test: its own config file and persistence
 * directory in a temporary directory, a listener on a free port on 127.0.0.1
 * (never 1883: a system broker may run there), in the foreground. It can be
 * stopped and started again on the same port with the same persistence
 * (SIGTERM: Mosquitto writes its database on the way out), frozen (SIGSTOP:
 * it reads nothing and acknowledges nothing) and thawed.
 *
 * Register suites that use it through `needsBinary('mosquitto').test`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './link-probes.js';

export interface MosquittoContext {
  port: number;
  /** The temporary directory (config, persistence, anything the test adds). */
  dir: string;
  /** Where persistence goes (ends with `/`, as Mosquitto wants). */
  persistenceLocation: string;
}

export interface MosquittoOptions {
  /**
   * The configuration body. Default: anonymous access, persistence on. The
   * helper always adds `user <current user>` (as root Mosquitto would
   * otherwise switch to the `mosquitto` user and could not write the temporary
   * directory) and logging to stderr.
   */
  config?: (ctx: MosquittoContext) => string | Promise<string>;
  /** Default `mosquitto` on PATH. */
  binary?: string;
  startTimeoutMs?: number;
}

export interface RunningMosquitto extends MosquittoContext {
  readonly url: string;
  /** Stops it (SIGTERM, SIGKILL after 5 s); the directory and the port stay for `start`. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same config and persistence. */
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT. */
  freeze(): void;
  thaw(): void;
  /** Everything it printed (for assertion messages). */
  output(): string;
  /** Stops it and removes the directory; safe to call twice. */
  dispose(): Promise<void>;
}

export function defaultMosquittoConfig({ port, persistenceLocation }: MosquittoContext): string {
  return [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${persistenceLocation}`].join('\n');
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGCONT'); // a frozen broker cannot act on SIGTERM
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<RunningMosquitto> {
  const binary = options.binary ?? 'mosquitto';
  const dir = await mkdtemp(join(tmpdir(), 'homegate-mosquitto-'));
  const persistenceLocation = `${join(dir, 'data')}/`;
  await mkdir(persistenceLocation);
  const port = await freePort();
  const ctx: MosquittoContext = { port, dir, persistenceLocation };
  const confPath = join(dir, 'mosquitto.conf');
  const body = await (options.config ?? defaultMosquittoConfig)(ctx);
  await writeFile(confPath, `${body}\nuser ${userInfo().username}\nlog_dest stderr\nlog_type all\n`, { mode: 0o600 });

  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    const c = spawn(binary, ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    c.on('error', (e) => (output += `spawn: ${e.message}\n`));
    const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
    while (Date.now() < deadline) {
      if (c.exitCode !== null || c.signalCode !== null) break;
      if (await canConnect(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    await stopChild(c);
    throw new Error(`mosquitto did not listen on 127.0.0.1:${port} (exit ${c.exitCode ?? c.signalCode})\n${output}`);
  };
  const stop = async () => {
    if (child) await stopChild(child);
  };
  let disposed: Promise<void> | undefined;
  const dispose = () =>
    (disposed ??= (async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    })());

  try {
    await start();
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    ...ctx,
    url: `mqtt://127.0.0.1:${port}`,
    stop,
    start,
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    output: () => output,
    dispose,
  };
}

const DEPLOY = fileURLToPath(new URL('../../../deploy/mosquitto/', import.meta.url));

/**
 * deploy/mosquitto/homegate.conf as shipped, with the test's listener (one,
 * plain, 127.0.0.1), password file, persistence directory, pid file
 * (`<dir>/mosquitto.pid`) and logging; the shipped ACL file itself.
 */
export async function shippedMosquittoConfig(ctx: MosquittoContext, passwordFile: string): Promise<string> {
  const shipped = await readFile(join(DEPLOY, 'homegate.conf'), 'utf8');
  const lines: string[] = [];
  let listener = false;
  for (const line of shipped.split('\n')) {
    const key = line.split(/\s+/)[0];
    if (key === 'listener') {
      if (!listener) lines.push(`listener ${ctx.port} 127.0.0.1`);
      listener = true;
    } else if (key === 'password_file') lines.push(`password_file ${passwordFile}`);
    else if (key === 'acl_file') lines.push(`acl_file ${join(DEPLOY, 'acl')}`);
    else if (key === 'persistence_location') lines.push(`persistence_location ${ctx.persistenceLocation}`);
    else if (key === 'pid_file') lines.push(`pid_file ${join(ctx.dir, 'mosquitto.pid')}`);
    else if (!['certfile', 'keyfile', 'tls_version', 'log_dest'].includes(key ?? '')) lines.push(line);
  }
  return lines.join('\n');
}
