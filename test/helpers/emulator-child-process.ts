/**
 * The card emulator as a child process (`homegate card emulate`) that can be
 * killed and started again on the same image and line, its stderr (JSON log
 * lines) kept. Free of ava, so runners outside it (npm run chaos) can use it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { LogLevel } from '../../card-io/base/log.js';
import { HOMEGATE_BIN } from '../../deploy/sandbox/household/emulator-child.js';

export interface EmulatorProcess {
  /** The address the emulator serves (tcp://... or the pty's card side). */
  readonly device: string;
  readonly pid: number | undefined;
  /** Everything the emulator wrote to stderr so far (its JSON log lines), over all restarts. */
  stderr(): string;
  /** Signal the process and wait until it is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same image and line (after kill). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Generous: a CLI process starting on a loaded two-core CI machine may take seconds. */
const EMULATOR_READY_MS = 30_000;

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function spawnReady(device: string, imagePath: string, logLevel: LogLevel, onStderr: (s: string) => void): Promise<ChildProcess> {
  const child = spawn(process.execPath, [HOMEGATE_BIN, '--log-level', logLevel, 'card', 'emulate', '--device', device, '--image', imagePath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.setEncoding('utf8').on('data', onStderr);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`card emulator on ${device} was not ready within ${EMULATOR_READY_MS / 1000} s`));
    }, EMULATOR_READY_MS);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`card emulator exited (code ${code}) before it was ready`));
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

export async function startEmulatorProcess(device: string, imagePath: string, logLevel: LogLevel = 'error'): Promise<EmulatorProcess> {
  let stderr = '';
  const collect = (s: string) => (stderr += s);
  let child = await spawnReady(device, imagePath, logLevel, collect);
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (exited(child)) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await gone;
  };
  return {
    device,
    get pid() {
      return child.pid;
    },
    stderr: () => stderr,
    kill,
    async restart() {
      await kill('SIGKILL');
      child = await spawnReady(device, imagePath, logLevel, collect);
    },
    stop: () => kill('SIGTERM'),
  };
}
