/**
 * The card emulator as a child process (`homegate card emulate`, spawned by
 * the sandbox's own spawnEmulator) that can be killed and started again on
 * the same image and line, its stderr (JSON log lines) kept. Free of ava, so
 * runners outside it (npm run chaos) can use it; card-fixture.ts adds the
 * ava teardown.
 */
import type { LogLevel } from '../../../card-io/base/log.js';
import { spawnEmulator, type EmulatorChild } from '../../../deploy/sandbox/household/emulator-child.js';

export interface EmulatorProcess {
  /** The address the emulator serves (tcp://... or the pty's card side). */
  readonly device: string;
  readonly pid: number | undefined;
  /** The last 64 KB the emulator wrote to stderr (its JSON log lines), over all restarts. */
  stderr(): string;
  /** Signal the process (default SIGTERM) and wait until it is gone. Idempotent. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same image and line (after kill). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface EmulatorProcessOptions {
  logLevel?: LogLevel;
  /** Extra CLI arguments, e.g. ['--slow-ms', '100']. */
  args?: readonly string[];
  /** How long the process may take to print its ready line, in ms; default 30000 (a CLI start on a loaded two-core machine may take seconds). */
  readyTimeoutMs?: number;
}

/** Emulator processes still running, killed if this process exits before its owners stopped them. */
const running = new Set<EmulatorChild>();
process.once('exit', () => {
  for (const child of running) child.process.kill('SIGKILL');
});

/**
 * At most this many emulator processes start at once in one process: a Node
 * start-up of the CLI is CPU-bound, and a dozen at once starve each other
 * past any ready timeout.
 */
const MAX_STARTING = 3;
let starting = 0;
const startQueue: Array<() => void> = [];

async function startSlot(): Promise<() => void> {
  while (starting >= MAX_STARTING) await new Promise<void>((resolve) => startQueue.push(resolve));
  starting++;
  return () => {
    starting--;
    startQueue.shift()?.();
  };
}

function exited(c: EmulatorChild): boolean {
  return c.process.exitCode !== null || c.process.signalCode !== null;
}

export async function startEmulatorProcess(
  device: string,
  imagePath: string,
  logLevel: LogLevel = 'error',
  o: EmulatorProcessOptions = {},
): Promise<EmulatorProcess> {
  let stderr = '';
  const onStderr = (s: string) => (stderr = (stderr + s).slice(-65_536));
  const spawnOne = async () => {
    const done = await startSlot();
    try {
      const c = await spawnEmulator(device, imagePath, o.args ?? [], o.logLevel ?? logLevel, { onStderr, readyTimeoutMs: o.readyTimeoutMs ?? 30_000 });
      running.add(c);
      c.process.once('exit', () => running.delete(c));
      return c;
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${stderr}`, { cause: e });
    } finally {
      done();
    }
  };
  let child = await spawnOne();
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (exited(child)) return;
    const gone = new Promise<void>((resolve) => child.process.once('exit', () => resolve()));
    child.process.kill(signal);
    await gone;
  };
  return {
    device,
    get pid() {
      return child.process.pid;
    },
    stderr: () => stderr,
    kill,
    async restart() {
      await kill('SIGKILL');
      child = await spawnOne();
    },
    stop: () => kill('SIGTERM'),
  };
}
