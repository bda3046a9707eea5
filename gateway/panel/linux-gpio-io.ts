/**
 * The linux-gpio board: the GPIO character device (/dev/gpiochipN) through
 * libgpiod's command-line tools (Debian and Raspberry Pi OS package `gpiod`),
 * spawned, so nothing native is compiled on install and it works on every Pi.
 *
 *   outputs  gpioset holds a line while it runs: one process per output, replaced on each change
 *   inputs   gpioget reads the level, then gpiomon prints one line per edge (`--format='%e %o'`)
 * The kernel lends a line to one requester at a time, so the tools for one line take turns.
 *
 * libgpiod v1 and v2 differ (detected once with `gpioset --version`):
 *   v1  gpioset --mode=signal CHIP LINE=V   gpiomon --line-buffered --format=FMT [--bias=pull-up] CHIP LINE
 *                                           %e: 1 rising, 0 falling
 *   v2  gpioset -c CHIP LINE=V              gpiomon -c CHIP --format=FMT [-b pull-up] LINE   %e: 1 rising, 2 falling
 *                                           gpioget needs --numeric to print 0/1
 * (v2's gpioset holds the line until killed by default; v1's exits at once unless --mode=signal.)
 * v1's gpiomon block-buffers a pipe unless --line-buffered (v2 flushes after each wait):
 * without it edges would arrive kilobytes late. `--bias` and `--line-buffered` need libgpiod 1.6
 * (Debian bullseye and Raspberry Pi OS since then); v2 is Debian trixie's.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { Logger } from '../../card-io/base/log.js';
import { DigitalIoPlugin, type InputBias, PanelError } from './digital-io-plugin.js';

const run = promisify(execFile);

export interface LinuxGpioOptions {
  /** gpiochip name or number. */
  chip: string;
  logger: Logger;
  /** Lines on the chip that may be used. Default 512. */
  pinCount?: number;
}

export type LibgpiodMajor = 1 | 2;

/** The major version from `gpioset --version` ("gpioset (libgpiod) v1.6.3" or "gpioset (libgpiod) v2.1"). */
export function parseLibgpiodVersion(text: string): LibgpiodMajor {
  const m = /libgpiod\)?\s+v?(\d+)\./.exec(text);
  if (!m) throw new PanelError('io-failed', `Cannot tell the libgpiod version from: ${text.trim().slice(0, 80)}`, {});
  return Number(m[1]) >= 2 ? 2 : 1;
}

/** One gpiomon line, `%e %o`, as a level; undefined for anything else. */
export function parseMonitorLine(line: string, major: LibgpiodMajor): { offset: number; value: 0 | 1 } | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(line);
  if (!m) return undefined;
  const event = Number(m[1]);
  const rising = event === 1;
  const falling = major === 1 ? event === 0 : event === 2;
  if (!rising && !falling) return undefined;
  return { offset: Number(m[2]), value: rising ? 1 : 0 };
}

export class LinuxGpioIo extends DigitalIoPlugin {
  readonly name = 'linux-gpio';
  private major: LibgpiodMajor = 1;
  private readonly setters = new Map<number, ChildProcess>();
  private readonly monitors = new Map<number, ChildProcess>();
  /** Per line: the queued work (one tool at a time), what is wanted and what the running tool does. */
  private readonly lineWork = new Map<number, Promise<void>>();
  private readonly wanted = new Map<number, 0 | 1>();
  private readonly driven = new Map<number, 0 | 1>();
  private readonly wantedBias = new Map<number, InputBias>();
  private readonly monitorBias = new Map<number, InputBias>();
  private closed = false;

  constructor(private readonly o: LinuxGpioOptions) {
    super(o.pinCount ?? 512);
  }

  /** Find the tools and their version; `ready` follows. */
  async start(): Promise<this> {
    let out: string;
    try {
      out = (await run('gpioset', ['--version'])).stdout;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new PanelError(
        'io-failed',
        code === 'ENOENT' ? 'gpioset is not installed (apt-get install gpiod)' : `gpioset --version failed (${String(code ?? 'error')})`,
        {},
      );
    }
    this.major = parseLibgpiodVersion(out);
    this.o.logger.info({ chip: this.o.chip, libgpiod: this.major }, 'linux-gpio panel board');
    this.markReady();
    return this;
  }

  get libgpiodMajor(): LibgpiodMajor {
    return this.major;
  }

  private spawnTool(tool: string, args: string[], pin: number): ChildProcess {
    const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('error', (e) => this.failed(tool, pin, e.message));
    // Ended by us: code 0 or a signal. Anything else is the tool's refusal (a busy line, a missing chip).
    child.on('exit', (code) => (code !== null && code !== 0 ? this.failed(tool, pin, `exited with code ${code}`) : undefined));
    child.stderr?.on('data', (d: Buffer) => this.o.logger.warn({ tool, pin, stderr: d.toString('utf8').trim().slice(0, 200) }, 'libgpiod tool complained'));
    return child;
  }

  private failed(tool: string, pin: number, message: string): void {
    if (this.closed) return;
    this.o.logger.error({ tool, pin, err: message }, 'libgpiod tool failed');
    this.emit('error', new PanelError('io-failed', `${tool} for line ${pin} failed: ${message}`, { pin }));
  }

  /**
   * One line, one holder: the kernel grants a line to one requester at a time (EBUSY otherwise), so every
   * change of a line waits for the previous holder to exit before the next tool asks for it. Changes queued
   * meanwhile collapse into the latest (a fast-blinking LED does not pile up processes).
   */
  private enqueue(pin: number, work: () => Promise<void>): void {
    const next = (this.lineWork.get(pin) ?? Promise.resolve()).then(async () => {
      if (!this.closed) await work();
    });
    const settled = next.catch((e: unknown) => this.failed('libgpiod', pin, (e as Error).message));
    this.lineWork.set(pin, settled);
  }

  protected driveOutput(pin: number, value: 0 | 1): void {
    if (this.closed) return;
    this.wanted.set(pin, value);
    this.enqueue(pin, async () => {
      const v = this.wanted.get(pin)!;
      if (this.driven.get(pin) === v && this.setters.has(pin)) return;
      await stopTool(this.setters.get(pin));
      if (this.closed) return;
      const args = this.major === 1 ? ['--mode=signal', this.o.chip, `${pin}=${v}`] : ['-c', this.o.chip, `${pin}=${v}`];
      const child = this.spawnTool('gpioset', args, pin);
      this.setters.set(pin, child);
      this.driven.set(pin, v);
      await new Promise<void>((resolve) => {
        child.once('spawn', resolve);
        child.once('error', () => resolve());
      });
    });
  }

  protected watchInput(pin: number, bias: InputBias): void {
    if (this.closed) return;
    this.wantedBias.set(pin, bias);
    this.enqueue(pin, async () => {
      const b = this.wantedBias.get(pin)!;
      if (this.monitorBias.get(pin) === b && this.monitors.has(pin)) return;
      await stopTool(this.monitors.get(pin));
      this.monitors.delete(pin);
      if (this.closed) return;
      const biasArgs = b === 'pull-up' ? (this.major === 1 ? ['--bias=pull-up'] : ['-b', 'pull-up']) : [];
      // The level first, then the monitor: both need the line, one at a time. An edge between the two is
      // missed until the next one (a few ms at start or at a bias change).
      const level = await this.readLevel(pin, biasArgs);
      if (this.closed) return;
      const format = '--format=%e %o';
      const args =
        this.major === 1 ? ['--line-buffered', format, ...biasArgs, this.o.chip, String(pin)] : ['-c', this.o.chip, format, ...biasArgs, String(pin)];
      const child = this.spawnTool('gpiomon', args, pin);
      this.monitors.set(pin, child);
      this.monitorBias.set(pin, b);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const e = parseMonitorLine(line, this.major);
        if (e && e.offset === pin) this.inputChanged(pin, e.value);
      });
      this.inputChanged(pin, level);
    });
  }

  private async readLevel(pin: number, biasArgs: string[]): Promise<0 | 1> {
    const args = this.major === 1 ? [...biasArgs, this.o.chip, String(pin)] : ['-c', this.o.chip, '--numeric', ...biasArgs, String(pin)];
    const { stdout } = await run('gpioget', args);
    return stdout.trim() === '1' ? 1 : 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    // Queued work first (it spawns nothing once closed), then every tool still running.
    await Promise.all([...this.lineWork.values()]);
    const all = [...this.setters.values(), ...this.monitors.values()];
    this.setters.clear();
    this.monitors.clear();
    await Promise.all(all.map(stopTool));
  }
}

/** End a tool and wait until it has exited (and so released its line). */
function stopTool(c: ChildProcess | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!c || c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
  });
}
