/**
 * The sandbox household (card emulator, gateway, market) in a CHILD process,
 * so that the benchmark process is only the terminal and its CPU can be
 * measured apart from the gateway's:
 *
 *   node bin/homegate.js --data DIR sandbox --card-port .. --gateway-port .. --market-port ..
 *
 * (plus one `--<name>-port` for every other port the sandbox has.)
 * Ready when `homegate status --wait` answers. The child's pid is the Node
 * process that runs the gateway and the sandbox services (market, and the
 * issuer and MQTT broker where the sandbox has them); the emulator is its own
 * grandchild process. So /proc/<pid>/status is the gateway's memory plus
 * those services'.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HOMEGATE_BIN } from '../../deploy/sandbox/household/emulator-child.js';
import type { SandboxPorts } from '../../deploy/sandbox/household/household.js';

export interface SandboxChild {
  readonly pid: number;
  readonly gatewayUrl: string;
  stop(): Promise<void>;
}

/** `--card-port N --gateway-port N ...`: one flag per sandbox port, whatever ports the sandbox has. */
function portFlags(ports: SandboxPorts): string[] {
  return Object.entries(ports as unknown as Record<string, number>).flatMap(([name, port]) => [`--${name}-port`, String(port)]);
}

/** Keep the last few KiB of a stream, for an error message when the child fails. */
function tail(child: ChildProcess): () => string {
  let text = '';
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** `homegate status --wait` until the gateway's health endpoint answers. */
async function waitReady(dataDir: string, url: string, waitSeconds: number): Promise<void> {
  const status = spawn(process.execPath, [HOMEGATE_BIN, '--data', dataDir, 'status', '--wait', String(waitSeconds), '--url', url, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = tail(status);
  const code = await exited(status);
  if (code !== 0) throw new Error(`homegate status --wait ${waitSeconds} failed (exit ${code}): ${output()}`);
}

export async function startSandboxChild(dataDir: string, ports: SandboxPorts, waitSeconds = 60): Promise<SandboxChild> {
  const args = [HOMEGATE_BIN, '--data', dataDir, '--log-level', 'error', 'sandbox', ...portFlags(ports)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = tail(child);
  // If the benchmark process dies, do not leave the household running.
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);
  const gatewayUrl = `https://localhost:${ports.gateway}`;
  const stop = async (): Promise<void> => {
    process.off('exit', onExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = exited(child);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await done;
    clearTimeout(timer);
  };
  const died = exited(child).then((code) => {
    throw new Error(`the sandbox child exited (code ${code}) before the gateway answered: ${output()}`);
  });
  try {
    await Promise.race([waitReady(dataDir, gatewayUrl, waitSeconds), died]);
  } catch (e) {
    await stop();
    throw e;
  }
  died.catch(() => undefined); // later exits are expected (stop)
  return { pid: child.pid!, gatewayUrl, stop };
}

/**
 * First-time setup (CAs, card personalization, market PKI, registry) by one
 * `homegate sandbox --once`, so that every measured gateway is a second start
 * and its idle memory does not include the one-time setup.
 */
export async function prepareSandboxData(dataDir: string, ports: SandboxPorts): Promise<void> {
  const args = [HOMEGATE_BIN, '--data', dataDir, '--log-level', 'error', 'sandbox', '--once', ...portFlags(ports)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = tail(child);
  const code = await exited(child);
  if (code !== 0) throw new Error(`homegate sandbox --once failed (exit ${code}): ${output()}`);
}

/** Set `proxy.reuseSessionCertificate` in <data>/gateway.json (read at the gateway's start). */
export async function setReuseSessionCertificate(dataDir: string, reuse: boolean): Promise<void> {
  const file = join(dataDir, 'gateway.json');
  const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  config.proxy = { ...((config.proxy as Record<string, unknown> | undefined) ?? {}), reuseSessionCertificate: reuse };
  await writeFile(file, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
}
