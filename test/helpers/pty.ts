/**
 * A real pty pair joined by socat, so the serial transport is tested against
 * a kernel tty (termios, EIO on hang-up, flock) and not only against mocks:
 *
 *   socat -d -d pty,raw,echo=0,link=<dir>/card pty,raw,echo=0,link=<dir>/host
 *
 * Bytes written to one link path come out of the other. stop() kills socat:
 * both ptys vanish, as when a USB adapter is unplugged; restart() brings them
 * back on the same link paths (new /dev/pts numbers behind them).
 * Suites using this must register their tests with needsBinary('socat').
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { lstat, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';

export interface PtyPair {
  /** Link path for the card side (the emulator opens this). */
  readonly cardPath: string;
  /** Link path for the host side (the gateway opens this). */
  readonly hostPath: string;
  /** Kills socat and waits for it to exit; the link paths disappear. Idempotent. */
  stop(): Promise<void>;
  /** Starts socat again on the same link paths and waits until both exist. */
  restart(): Promise<void>;
}

export interface PtyPairOptions {
  /** How long socat may take to create both ptys, in ms; default 5000. */
  startTimeoutMs?: number;
}

/**
 * Starts a pty pair; it is stopped and its directory removed when the test ends
 * (or, outside ava, when whatever collects the teardown functions runs them).
 */
export async function startPtyPair(t: Pick<ExecutionContext, 'teardown'>, options: PtyPairOptions = {}): Promise<PtyPair> {
  const dir = await mkdtemp(path.join(tmpdir(), 'homegate-pty-'));
  const cardPath = path.join(dir, 'card');
  const hostPath = path.join(dir, 'host');
  const timeoutMs = options.startTimeoutMs ?? 5000;
  let socat: ChildProcess | undefined;

  const stop = async (): Promise<void> => {
    const proc = socat;
    socat = undefined;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      await exited;
    }
    // socat removes its links on SIGTERM; remove them anyway in case it could not.
    await rm(cardPath, { force: true });
    await rm(hostPath, { force: true });
  };

  const start = async (): Promise<void> => {
    await stop();
    const proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${cardPath}`, `pty,raw,echo=0,link=${hostPath}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    socat = proc;
    let stderr = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (s: string) => {
      stderr = (stderr + s).slice(-4000);
    });
    const deadline = Date.now() + timeoutMs;
    // Ready when socat says it is transferring (both ptys open) and both links exist.
    while (!(stderr.includes('starting data transfer loop') && (await exists(cardPath)) && (await exists(hostPath)))) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`socat exited (${proc.exitCode ?? proc.signalCode}) before the ptys were ready:\n${stderr}`);
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`socat did not create ${cardPath} and ${hostPath} within ${timeoutMs} ms:\n${stderr}`);
      }
      await delay(10);
    }
  };

  t.teardown(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  await start();
  return { cardPath, hostPath, stop, restart: start };
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
