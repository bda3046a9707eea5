/**
 * Runs `homegate` (bin/homegate.js, the compiled CLI) as a real process and
 * reports how it ended, with every byte it wrote. A run that outlives its
 * timeout is SIGKILLed and reported as `timedOut`, so a hanging command fails
 * its test instead of hanging the suite. HOMEGATE_DATA and HOMEGATE_LOG_LEVEL
 * from the caller's environment are not passed on.
 *
 * Each process loads the whole CLI (about a CPU-second on a small machine), so
 * at most MAX_RUNNING run at a time and a run's timeout starts when it starts.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { HOMEGATE_BIN } from '../../deploy/sandbox/household/emulator-child.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface CliRunOptions {
  cwd?: string;
  /** From the process start; default 30000 ms. */
  timeoutMs?: number;
  /** Written to the process's stdin, which then ends (PINs as a script feeds them). Default: no stdin. */
  input?: string;
}

const MAX_RUNNING = Math.max(2, availableParallelism());
let running = 0;
const queued: Array<() => void> = [];

async function limited<T>(run: () => Promise<T>): Promise<T> {
  if (running >= MAX_RUNNING) await new Promise<void>((resolve) => queued.push(resolve));
  running++;
  try {
    return await run();
  } finally {
    running--;
    queued.shift()?.();
  }
}

export function runCli(args: readonly string[], options: CliRunOptions = {}): Promise<CliResult> {
  return limited(() => runNow(args, options));
}

function runNow(args: readonly string[], options: CliRunOptions): Promise<CliResult> {
  const env = { ...process.env };
  delete env.HOMEGATE_DATA;
  delete env.HOMEGATE_LOG_LEVEL;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HOMEGATE_BIN, ...args], {
      cwd: options.cwd,
      env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (options.input !== undefined) {
      child.stdin!.on('error', () => undefined); // the command may exit before reading it all
      child.stdin!.end(options.input);
    }
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** What a run printed, for assertion messages. */
export function transcript(r: CliResult): string {
  return `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/**
 * Where a secret shows in a log line: its digits as a token of their own (not
 * inside a longer run of hex digits such as a port, a timestamp or a card id),
 * or its ASCII bytes in hex, as a PIN block in a hex dump would show them.
 */
export function secretsIn(line: string, secrets: readonly string[]): string[] {
  const text = line.replace(/"(time|pid)":\d+/g, '');
  return secrets.filter((s) => {
    const asHex = Buffer.from(s, 'ascii').toString('hex');
    return new RegExp(`(?<![0-9a-f])${s}(?![0-9a-f])`, 'i').test(text) || text.toLowerCase().includes(asHex);
  });
}
