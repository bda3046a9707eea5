/**
 * Runs an unmodified nginx as the sandbox market (deploy/sandbox/nginx) for a
 * test: renders the config into a temporary prefix on a free port, starts
 * `nginx -g 'daemon off;'` in the foreground, waits until it completes a TLS
 * handshake, and on stop() ends the master (SIGTERM, SIGKILL after a grace
 * period) and removes the prefix.
 *
 * Register suites that use it through `needsBinary('nginx').test`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { tempPathModulesOf, writeMarketConfig, type MarketConfigParams, type MarketConfigPaths } from '../../deploy/sandbox/nginx/render-config.js';
import { freePort } from './link-probes.js';

export interface RunningNginx {
  readonly port: number;
  readonly prefix: string;
  readonly paths: MarketConfigPaths;
  /** The error log so far (for assertion messages); empty if there is none yet. */
  errorLog(): Promise<string>;
  /** Stops the master and removes the prefix; safe to call twice. */
  stop(): Promise<void>;
}

export type NginxMarketParams = Omit<MarketConfigParams, 'prefix' | 'port' | 'tempPathModules'> & {
  /** Default `nginx` on PATH. */
  binary?: string;
  /** How long to wait for the first TLS handshake. Default 10 s. */
  startTimeoutMs?: number;
};

async function nginxBuildInfo(binary: string): Promise<string> {
  const { stdout, stderr } = await promisify(execFile)(binary, ['-V']);
  return `${stdout}${stderr}`; // nginx prints -V to stderr
}

function handshakeOnce(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, servername: 'localhost', rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitForTls(child: ChildProcess, host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nginx exited (${child.exitCode ?? child.signalCode})`);
    if (await handshakeOnce(host, port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not accept a TLS handshake on ${host}:${port} within ${timeoutMs} ms`);
}

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM'); // nginx: fast shutdown; the master stops its workers
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function startNginxMarket(p: NginxMarketParams): Promise<RunningNginx> {
  const binary = p.binary ?? 'nginx';
  const prefix = await mkdtemp(join(tmpdir(), 'homegate-nginx-'));
  const host = p.host ?? '127.0.0.1';
  let child: ChildProcess | undefined;
  let output = '';
  const errorLog = async () => {
    try {
      return await readFile(join(prefix, 'logs', 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (child) await stopChild(child);
    await rm(prefix, { recursive: true, force: true });
  };
  try {
    const tempPathModules = tempPathModulesOf(await nginxBuildInfo(binary));
    const port = await freePort(host);
    const paths = await writeMarketConfig({ ...p, prefix, port, host, tempPathModules });
    child = spawn(binary, ['-p', `${prefix}/`, '-e', paths.errorLogPath, '-c', paths.confPath, '-g', 'daemon off;'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', (e) => (output += `spawn: ${e.message}\n`));
    await waitForTls(child, host, port, p.startTimeoutMs ?? 10_000);
    return { port, prefix, paths, errorLog, stop };
  } catch (e) {
    const log = await errorLog();
    await stop();
    throw new Error(`${(e as Error).message}\nnginx output:\n${output}\nerror.log:\n${log}`, { cause: e });
  }
}
