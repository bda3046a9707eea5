/**
 * The sandbox runs the card emulator as a separate process, as a real card
 * is a separate device: `homegate card emulate` on a TCP "virtual serial
 * line" (ser2net style), so nothing beyond Node is needed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** bin/homegate.js, found from this compiled file (dist/deploy/sandbox/household/). */
export const HOMEGATE_BIN = fileURLToPath(new URL('../../../../bin/homegate.js', import.meta.url));

export interface EmulatorChild {
  readonly process: ChildProcess;
  readonly device: string;
  /** The control channel's address from the ready line, when started with --control. */
  readonly control?: string;
  stop(): Promise<void>;
}

export interface SpawnEmulatorOptions {
  /** Receives the emulator's stderr (JSON log lines) instead of it going to this process's stderr. */
  onStderr?: (chunk: string) => void;
  /** Kill the emulator and reject when it has not printed its ready line within this many ms. Default: wait. */
  readyTimeoutMs?: number;
}

/** The ready line's fields, or undefined for any other line. */
function readyLine(line: string): { control?: string } | undefined {
  try {
    const o = JSON.parse(line) as { event?: unknown; control?: unknown };
    if (o.event !== 'ready') return undefined;
    return typeof o.control === 'string' ? { control: o.control } : {};
  } catch {
    return undefined;
  }
}

export async function spawnEmulator(
  device: string,
  imagePath: string,
  extraArgs: readonly string[] = [],
  logLevel = 'error',
  o: SpawnEmulatorOptions = {},
): Promise<EmulatorChild> {
  const child = spawn(process.execPath, [HOMEGATE_BIN, '--log-level', logLevel, 'card', 'emulate', '--device', device, '--image', imagePath, ...extraArgs], {
    stdio: ['ignore', 'pipe', o.onStderr ? 'pipe' : 'inherit'],
  });
  if (o.onStderr) child.stderr!.setEncoding('utf8').on('data', o.onStderr);
  const ready = await new Promise<{ control?: string }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer =
      o.readyTimeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`card emulator on ${device} was not ready within ${o.readyTimeoutMs} ms`));
          }, o.readyTimeoutMs);
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new Error(`card emulator exited (${code ?? signal}) before it was ready`));
    };
    child.once('exit', onExit);
    lines.on('line', (line) => {
      const r = readyLine(line);
      if (r) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(r);
      }
    });
  });
  return {
    process: child,
    device,
    ...ready,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
