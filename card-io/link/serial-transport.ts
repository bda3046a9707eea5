/**
 * A Transport over a serial device (a UART such as /dev/serial0, a USB adapter
 * such as /dev/ttyUSB0, a udev name, or a pty), using node-serialport.
 *
 * One call of the factory opens the port once; when the device goes away
 * (USB unplugged, the pty's socat exits) the transport reports onClose and is
 * finished: reopening is the ReconnectingLink's job, not this file's.
 *
 * SerialPort.list() is never called: it needs udevadm, absent on the gateway.
 *
 * Why a presence check: when a tty is hung up (USB adapter unplugged, pty
 * master closed) while node-serialport has a read in flight, read() returns 0
 * from then on, and @serialport/bindings-cpp 13 retries a 0-byte read at once,
 * forever: no 'close' event, a busy loop. Seen on ptys in about half of the
 * runs. So the transport also checks, every `presenceCheckMs`, that the path
 * still names the device it opened; if not, the device vanished.
 *
 * Why `serialport` is imported at the first open and not with this file: a
 * gateway on a `tcp://` card line (ser2net, the sandbox) never needs its native
 * binding (a shared library mapped into the process) or its dependencies, and
 * this file is reached by every importer of the link layer (open-link.ts).
 * Node caches the module, so only the first open pays the import.
 */
import { stat } from 'node:fs/promises';
import type { SerialPort } from 'serialport';
import { CardError, CardErrorCode } from '../errors.js';
import type { ModemLines, Transport, TransportFactory, TransportHandlers } from './link.js';

export interface SerialTransportOptions {
  /** Device path, e.g. /dev/serial0, /dev/ttyUSB0, /dev/serial/by-id/..., a pty link. */
  path: string;
  /**
   * Line speed in bits/s. Default 115200 (the home card's UART rate).
   * Any rate the driver accepts; ignored by ptys. Framing is always 8N1.
   */
  baudRate?: number;
  /**
   * How often to check that the path still names the opened device, in ms;
   * range >= 50; default 500. Bounds how long a vanished device goes unnoticed
   * (and the binding's busy loop lasts) when the port itself does not report it.
   */
  presenceCheckMs?: number;
}

export const DEFAULT_BAUD_RATE = 115200;
export const DEFAULT_PRESENCE_CHECK_MS = 500;

/** Returns a factory that opens `options.path` each time it is called. */
export function serialTransportFactory(options: SerialTransportOptions): TransportFactory {
  const baudRate = options.baudRate ?? DEFAULT_BAUD_RATE;
  const checkMs = Math.max(50, options.presenceCheckMs ?? DEFAULT_PRESENCE_CHECK_MS);
  return (handlers, signal) => openSerialTransport(options.path, baudRate, checkMs, handlers, signal);
}

async function openSerialTransport(path: string, baudRate: number, checkMs: number, handlers: TransportHandlers, signal?: AbortSignal): Promise<Transport> {
  if (signal?.aborted) {
    throw new CardError(CardErrorCode.LinkOpenFailed, `Opening serial port ${path} was aborted`, { path });
  }
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({
    path,
    baudRate,
    dataBits: 8,
    parity: 'none',
    stopBits: 1,
    autoOpen: false,
    // An exclusive lock (flock): a second process opening the card's line
    // would interleave bytes with ours and break T=1 framing. It binds every
    // opener that asks for the lock (homegate, serialport, flock(1) users);
    // a program that opens the tty without flock is not stopped by it.
    lock: true,
  });
  await new Promise<void>((resolve, reject) => {
    port.open((err) => {
      if (!err) return resolve();
      if (isLockRefusal(err)) {
        return reject(
          new CardError(
            CardErrorCode.LineBusy,
            `Serial port ${path} is busy: another process holds it (line busy; while the gateway runs, the card line is the gateway's)`,
            { path, reason: 'line-busy' },
            { cause: err },
          ),
        );
      }
      reject(new CardError(CardErrorCode.LinkOpenFailed, `Cannot open serial port ${path}`, { path, reason: err.message }, { cause: err }));
    });
  });
  const transport = new SerialTransport(path, port, handlers);
  transport.watchPresence(await deviceIdentity(path), checkMs);
  return transport;
}

/**
 * The binding reports a failed flock(LOCK_EX | LOCK_NB) only as text
 * ("Error Resource temporarily unavailable Cannot lock port"), with no errno
 * field; this is the one place that text is read, to turn it into LineBusy.
 */
function isLockRefusal(err: Error): boolean {
  return /Cannot lock port/.test(err.message);
}

/** Which device a path names now (symlinks followed); undefined if it names none. */
async function deviceIdentity(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path);
    return `${s.dev}:${s.ino}:${s.rdev}`;
  } catch {
    return undefined;
  }
}

class SerialTransport implements Transport {
  /** True once the port ended, by our close() or by the device. */
  private ended = false;
  private closedByUs = false;
  /** Reject functions of writes in flight: serialport queues writes on a closed port forever. */
  private readonly pendingWrites = new Set<(err: Error) => void>();
  private presenceTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly port: SerialPort,
    private readonly handlers: TransportHandlers,
  ) {
    port.on('data', (chunk: Buffer) => {
      if (!this.ended) handlers.onData(chunk);
    });
    // 'close' carries a DisconnectedError (err.disconnected === true) when a read
    // or write failed, e.g. EIO after the device vanished.
    port.on('close', (err: Error | null | undefined) => this.finish(err ?? undefined));
    // A read that returns 0 bytes (EOF) ends the readable side only; the port
    // would stay "open" yet deaf, so treat it as the device going away.
    port.on('end', () => this.finish(new Error(`Serial port ${path} reached end of file`)));
    port.on('error', (err: Error) => this.finish(err));
  }

  /** Starts the presence check (see the file comment); stopped when the transport ends. */
  watchPresence(identity: string | undefined, everyMs: number): void {
    if (this.ended) return;
    let checking = false;
    this.presenceTimer = setInterval(() => {
      if (checking) return;
      checking = true;
      void deviceIdentity(this.path).then((now) => {
        checking = false;
        if (identity === undefined || now !== identity) {
          this.finish(new Error(`Serial device ${this.path} vanished`));
        }
      });
    }, everyMs);
    // The open port keeps the process alive, not this check.
    this.presenceTimer.unref();
  }

  get baudRate(): number {
    return this.port.baudRate;
  }

  get modemLines(): ModemLines {
    return serialModemLines(this.port);
  }

  /**
   * serialport's update(): a new termios speed on the open port (PPS, ISO/IEC
   * 7816-3 §9). @serialport/bindings-cpp flushes both queues when it sets a
   * speed (tcflush TCIOFLUSH), so the port is drained first: bytes already
   * written (a PPS answer) still go out at the old speed, as §9.3 wants.
   */
  async setBaudRate(baudRate: number): Promise<void> {
    if (this.ended || !this.port.isOpen) throw this.disconnectedError();
    await new Promise<void>((resolve) => this.port.drain(() => resolve()));
    return new Promise((resolve, reject) => {
      this.port.update({ baudRate }, (err) => {
        if (err)
          reject(
            new CardError(CardErrorCode.InvalidArgument, `Serial port ${this.path} refused ${baudRate} bit/s`, { path: this.path, baudRate }, { cause: err }),
          );
        else resolve();
      });
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.ended || !this.port.isOpen) {
      return Promise.reject(this.disconnectedError());
    }
    // Copy: the caller may reuse its buffer before the port has written it.
    const data = Buffer.from(bytes);
    return new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => {
        this.pendingWrites.delete(fail);
        reject(this.disconnectedError(err));
      };
      this.pendingWrites.add(fail);
      // The callback fires once the binding wrote every byte to the fd.
      this.port.write(data, (err) => {
        if (!this.pendingWrites.delete(fail)) return;
        if (err) reject(this.disconnectedError(err));
        else resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (this.ended) return;
    this.closedByUs = true;
    clearInterval(this.presenceTimer);
    this.failPendingWrites(new Error('closed'));
    this.ended = true;
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => {
      // A close error leaves nothing for us to do: the fd is gone either way.
      this.port.close(() => resolve());
    });
  }

  private finish(err: Error | undefined): void {
    if (this.closedByUs) return;
    const first = !this.ended;
    this.ended = true;
    clearInterval(this.presenceTimer);
    const error = err ?? new Error(`Serial port ${this.path} closed`);
    this.failPendingWrites(error);
    if (this.port.isOpen) this.port.close(() => undefined);
    if (first) this.handlers.onClose(error);
  }

  private failPendingWrites(err: Error): void {
    for (const fail of [...this.pendingWrites]) fail(err);
  }

  private disconnectedError(cause?: Error): CardError {
    return new CardError(CardErrorCode.LinkDisconnected, `Serial port ${this.path} is not open`, { path: this.path, reason: cause?.message }, { cause });
  }
}

/** serialport's set()/get() as promises: the modem-control lines of an open port. */
export function serialModemLines(port: {
  set(options: { rts?: boolean; dtr?: boolean }, cb: (err: Error | null) => void): unknown;
  get(cb: (err: Error | null, status?: { cts: boolean; dsr: boolean; dcd: boolean }) => void): unknown;
}): ModemLines {
  return {
    set: (lines) => new Promise((resolve, reject) => port.set(lines, (err) => (err ? reject(err) : resolve()))),
    get: () =>
      new Promise((resolve, reject) =>
        port.get((err, status) =>
          err || !status ? reject(err ?? new Error('no modem status')) : resolve({ cts: status.cts, dsr: status.dsr, dcd: status.dcd }),
        ),
      ),
  };
}
