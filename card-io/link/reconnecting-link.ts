/**
 * The ByteLink the layers above hold: it opens transports from a factory and,
 * when one ends (USB unplugged, ser2net restarted, the emulator's peer gone),
 * opens the next with exponential backoff until close(). A gateway runs for
 * months; the line must come back by itself and never crash the process.
 *
 * Status: 'connecting' until the first attempt's outcome, then 'connected' or
 * 'disconnected'. Retries while disconnected do not emit a status each time
 * (status listeners publish to MQTT; a flapping 'connecting' would be noise);
 * they are logged at debug with the attempt number and delay.
 */
import { CardError, CardErrorCode, isCardError } from '../errors.js';
import { silentLogger, type Logger } from '../base/log.js';
import { backoffDelay, resolveBackoff, type BackoffOptions, type ResolvedBackoff } from './backoff.js';
import type { ByteLink, LinkStatus, ModemLines, Transport, TransportFactory, TransportHandlers } from './link.js';
import { Listeners } from './listeners.js';
import { traceBytes } from './trace.js';

/** Runs `fn` after `delayMs` ms; returns a function that cancels it. */
export type Scheduler = (delayMs: number, fn: () => void) => () => void;

export interface ReconnectingLinkOptions {
  /** Opens one transport per attempt (serial, TCP client, TCP listener, fake). */
  factory: TransportFactory;
  /** A path or tcp://host:port, for logs and errors. */
  address: string;
  /** Structured logger; default silent. Status changes at info/warn, retries at debug. */
  logger?: Logger;
  /** Reopen delays; see backoff.ts for units, ranges and defaults. */
  backoff?: BackoffOptions;
  /**
   * Log every byte in and out as hex at trace level. Default false, even when
   * trace is on: the link cannot redact PINs and keys in transit (see trace.ts).
   */
  traceBytes?: boolean;
  /**
   * Called once by close(), before the last transport is closed, to free what
   * the factory holds across transports (the TCP listener's socket).
   */
  release?: () => Promise<void>;
  /** Timer seam for tests; default setTimeout/clearTimeout. */
  schedule?: Scheduler;
  /** Jitter source for tests: a number in [0, 1); default Math.random. */
  random?: () => number;
}

const defaultSchedule: Scheduler = (delayMs, fn) => {
  const timer = setTimeout(fn, delayMs);
  return () => clearTimeout(timer);
};

export class ReconnectingLink implements ByteLink {
  readonly address: string;
  private readonly factory: TransportFactory;
  private readonly log: Logger;
  private readonly backoff: ResolvedBackoff;
  private readonly trace: boolean;
  private readonly release?: () => Promise<void>;
  private readonly schedule: Scheduler;
  private readonly random: () => number;
  private readonly data = new Listeners<Buffer>();
  private readonly statusListeners = new Listeners<LinkStatus>();

  private currentStatus: LinkStatus = 'connecting';
  private lastFailure: unknown;
  private transport: Transport | undefined;
  /** Failed attempts since the link was last connected: the backoff exponent. */
  private retries = 0;
  /** Bumped per attempt: callbacks of an older transport are ignored. */
  private generation = 0;
  private cancelTimer: (() => void) | undefined;
  private abortOpen: AbortController | undefined;
  private pendingOpen: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  /** Validates the options (throws CardError(InvalidArgument)) and starts the first open. */
  constructor(options: ReconnectingLinkOptions) {
    this.address = options.address;
    this.factory = options.factory;
    this.backoff = resolveBackoff(options.backoff);
    this.log = (options.logger ?? silentLogger).child({ link: options.address });
    this.trace = options.traceBytes ?? false;
    this.release = options.release;
    this.schedule = options.schedule ?? defaultSchedule;
    this.random = options.random ?? Math.random;
    this.log.info({ status: this.currentStatus }, 'link connecting');
    this.attempt();
  }

  get lastError(): unknown {
    return this.lastFailure;
  }

  get status(): LinkStatus {
    return this.currentStatus;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.closing) {
      throw new CardError(CardErrorCode.LinkClosed, `Link ${this.address} is closed`, { address: this.address });
    }
    const transport = this.transport;
    if (!transport || this.currentStatus !== 'connected') {
      throw new CardError(CardErrorCode.LinkDisconnected, `Link ${this.address} is ${this.currentStatus}`, {
        address: this.address,
        status: this.currentStatus,
      });
    }
    if (this.trace) traceBytes(this.log, 'out', bytes);
    try {
      await transport.write(bytes);
    } catch (err) {
      if (isCardError(err)) throw err;
      throw new CardError(CardErrorCode.LinkDisconnected, `Write to ${this.address} failed`, { address: this.address }, { cause: err });
    }
  }

  get baudRate(): number | undefined {
    return this.currentStatus === 'connected' ? this.transport?.baudRate : undefined;
  }

  get modemLines(): ModemLines | undefined {
    return this.currentStatus === 'connected' ? this.transport?.modemLines : undefined;
  }

  /** Changes the open transport's speed; a reopened transport starts at the factory's speed again. */
  async setBaudRate(baudRate: number): Promise<void> {
    const transport = this.transport;
    if (!transport?.setBaudRate || this.currentStatus !== 'connected') {
      throw new CardError(CardErrorCode.InvalidArgument, `Link ${this.address} cannot change its speed`, { address: this.address });
    }
    await transport.setBaudRate(baudRate);
    this.log.info({ baudRate }, 'link speed changed');
  }

  /** A listener that throws is logged and does not stop the others or the link. */
  onData(listener: (chunk: Buffer) => void): () => void {
    return this.data.add((chunk) => this.guard('data listener', () => listener(chunk)));
  }

  onStatus(listener: (status: LinkStatus) => void): () => void {
    return this.statusListeners.add((status) => this.guard('status listener', () => listener(status)));
  }

  /** Stops reopening, aborts an open in progress, closes the transport. Leaves no timer. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.abortOpen?.abort();
    await this.pendingOpen;
    const transport = this.transport;
    this.transport = undefined;
    // Released first: a listener stops accepting before its host is told the line closed.
    const released = this.release?.().catch((err: unknown) => this.log.warn({ err }, 'error releasing link resources'));
    await transport?.close().catch((err: unknown) => this.log.warn({ err }, 'error closing transport'));
    await released;
    this.setStatus('closed');
  }

  private attempt(): void {
    this.cancelTimer = undefined;
    if (this.closing) return;
    const generation = ++this.generation;
    const isCurrent = (): boolean => generation === this.generation && !this.closing;
    const abort = new AbortController();
    this.abortOpen = abort;
    let opened = false;
    let lostDuringOpen: Error | undefined;
    const handlers: TransportHandlers = {
      onData: (chunk) => {
        if (isCurrent()) this.receive(chunk);
      },
      onClose: (err) => {
        if (!opened) lostDuringOpen = err ?? new Error('closed while opening');
        else if (isCurrent()) this.lost(err);
      },
    };
    let opening: Promise<Transport>;
    try {
      opening = this.factory(handlers, abort.signal);
    } catch (err) {
      opening = Promise.reject(err);
    }
    // Never rejects: every outcome is handled here, so close() can await it.
    this.pendingOpen = opening.then(
      async (transport) => {
        opened = true;
        this.abortOpen = undefined;
        if (!isCurrent() || lostDuringOpen) {
          await transport.close().catch(() => undefined);
          if (isCurrent()) this.failed(lostDuringOpen);
          return;
        }
        this.transport = transport;
        this.retries = 0;
        this.setStatus('connected');
      },
      (err: unknown) => {
        this.abortOpen = undefined;
        if (isCurrent()) this.failed(err);
      },
    );
  }

  private lost(err: Error | undefined): void {
    this.transport = undefined;
    this.retries = 0;
    this.setStatus('disconnected', err);
    this.scheduleReopen();
  }

  private failed(err: unknown): void {
    this.log.debug({ attempt: this.retries + 1, err: describe(err) }, 'link open failed');
    this.setStatus('disconnected', err);
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    const delayMs = backoffDelay(this.retries, this.backoff, this.random);
    this.retries += 1;
    this.log.debug({ attempt: this.retries, delayMs }, 'link reopen scheduled');
    this.cancelTimer = this.schedule(delayMs, () => this.attempt());
  }

  private receive(chunk: Buffer): void {
    if (this.trace) traceBytes(this.log, 'in', chunk);
    this.data.emit(chunk);
  }

  private setStatus(status: LinkStatus, err?: unknown): void {
    if (status === 'disconnected') this.lastFailure = err;
    if (status === 'connected') this.lastFailure = undefined;
    if (this.currentStatus === status || this.currentStatus === 'closed') return;
    const from = this.currentStatus;
    this.currentStatus = status;
    if (status === 'disconnected') this.log.warn({ from, status, err: describe(err) }, 'link disconnected');
    else this.log.info({ from, status }, `link ${status}`);
    this.statusListeners.emit(status);
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err: describe(err) }, `${what} threw`);
    }
  }
}

/** A loggable summary of an error: code and message, never a payload. */
function describe(err: unknown): Record<string, unknown> | undefined {
  if (err === undefined) return undefined;
  if (isCardError(err)) return { code: err.code, message: err.message, reason: err.context.reason };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { message: String(err) };
}
