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
  stop(): Promise<void>;
}

export async function spawnEmulator(device: string, imagePath: string, extraArgs: string[] = [], logLevel = 'error'): Promise<EmulatorChild> {
  const child = spawn(process.execPath, [HOMEGATE_BIN, '--log-level', logLevel, 'card', 'emulate', '--device', device, '--image', imagePath, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const onExit = (code: number | null) => reject(new Error(`card emulator exited (code ${code}) before it was ready`));
    child.once('exit', onExit);
    lines.on('line', (line) => {
      if (line.includes('"ready"')) {
        child.off('exit', onExit);
        resolve();
      }
    });
  });
  return {
    process: child,
    device,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
