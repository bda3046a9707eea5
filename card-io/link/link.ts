/**
 * The byte link: the lowest layer of card-io. A serial port, a raw TCP socket
 * (ser2net style) and an in-memory pair all present this one shape, so the
 * T=1 layer above never knows which it talks to.
 *
 * A `Transport` is one open connection; when it ends it is finished.
 * A `ByteLink` is what the layers above hold: it may outlive many transports
 * (see reconnecting-link.ts) and reports its status as it changes.
 */

export type LinkStatus = 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface ByteLink {
  readonly status: LinkStatus;
  /** A human-readable address (a path or tcp://host:port), for logs. */
  readonly address: string;
  /** Write bytes. Rejects with CardError(LinkDisconnected) when not connected. */
  write(bytes: Uint8Array): Promise<void>;
  /** Subscribe to received bytes; returns the unsubscribe function. */
  onData(listener: (chunk: Buffer) => void): () => void;
  /** Subscribe to status changes; returns the unsubscribe function. */
  onStatus(listener: (status: LinkStatus) => void): () => void;
  /** Why the link is not connected (the last failed open or loss), when it knows; undefined once connected. */
  readonly lastError?: unknown;
  /** Close for good: no more reconnects. Idempotent. */
  close(): Promise<void>;
  /**
   * The line speed in bits/s when the line has one that can change (a serial
   * port); undefined otherwise (a TCP line: ser2net's speed is not ours to set).
   */
  readonly baudRate?: number;
  /**
   * Change the line speed (after a PPS exchange, ISO/IEC 7816-3 §9). Present
   * only on links that may be able to; rejects with CardError(InvalidArgument)
   * when the connected transport cannot.
   */
  setBaudRate?(baudRate: number): Promise<void>;
  /** A serial line's modem-control lines (RTS/DTR out, CTS/DSR/DCD in), while connected; undefined otherwise. */
  readonly modemLines?: ModemLines;
}

/** A serial port's modem-control lines, as serialport's set() and get() reach them (RS-232 handshake lines). */
export interface ModemLines {
  set(lines: { rts?: boolean; dtr?: boolean }): Promise<void>;
  get(): Promise<{ cts: boolean; dsr: boolean; dcd: boolean }>;
}

export interface TransportHandlers {
  onData(chunk: Buffer): void;
  /** Called once when the connection ends for any reason other than close(). */
  onClose(error?: Error): void;
}

export interface Transport {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /** Serial transports: the current speed in bits/s, and how to change it. */
  readonly baudRate?: number;
  setBaudRate?(baudRate: number): Promise<void>;
  readonly modemLines?: ModemLines;
}

/**
 * Opens one connection; rejects with CardError(LinkOpenFailed) when it cannot.
 * `signal`, when given, aborts an open still in progress (a TCP connect to a
 * silent host, a listener waiting for its peer), so that closing a link never
 * waits for the network. A factory that ignores it stays correct: the link
 * closes whatever transport resolves after it was closed.
 */
export type TransportFactory = (handlers: TransportHandlers, signal?: AbortSignal) => Promise<Transport>;
