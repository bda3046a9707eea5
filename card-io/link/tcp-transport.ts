/**
 * Transports over a raw TCP byte stream (ser2net style: no framing, no
 * telnet/RFC 2217 negotiation, bytes in = bytes on the UART).
 *
 * - `tcpClientTransportFactory`: the gateway side connects to tcp://host:port.
 * - `createTcpListener`: the card side (the emulator) serves tcp://host:port.
 *
 * Both set TCP_NODELAY: T=1 blocks are small and latency-bound, and Nagle's
 * algorithm would hold a block back waiting for the previous one's ACK.
 */
import net from 'node:net';
import { CardError, CardErrorCode } from '../errors.js';
import type { Logger } from '../base/log.js';
import type { Transport, TransportFactory, TransportHandlers } from './link.js';
import { SocketTransport } from './socket-transport.js';

export interface TcpEndpoint {
  /** Host name or IP address (without brackets for IPv6). */
  host: string;
  /** TCP port, 1..65535. */
  port: number;
}

export interface TcpClientOptions extends TcpEndpoint {
  /**
   * How long one connect attempt may take, in ms; range >= 1; default 5000.
   * Without it a connect to a silent host waits for the kernel's SYN retries (~2 min).
   */
  connectTimeoutMs?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/**
 * TCP keepalive delay in ms. A ser2net box that loses power sends no FIN;
 * keepalive probes notice it even when we have nothing to write.
 */
const KEEPALIVE_DELAY_MS = 10_000;

/** Returns a factory that makes one connection to host:port each time it is called. */
export function tcpClientTransportFactory(options: TcpClientOptions): TransportFactory {
  const address = formatTcpAddress(options);
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return (handlers, signal) =>
    new Promise<Transport>((resolve, reject) => {
      const openFailed = (reason: string, cause?: unknown): CardError =>
        new CardError(CardErrorCode.LinkOpenFailed, `Cannot connect to ${address}`, { address, reason }, { cause });
      if (signal?.aborted) return reject(openFailed('aborted'));
      const socket = net.connect({
        host: options.host,
        port: options.port,
        noDelay: true,
        keepAlive: true,
        keepAliveInitialDelay: KEEPALIVE_DELAY_MS,
      });
      const settle = (err?: CardError): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.off('error', onError);
        socket.off('connect', onConnect);
        if (err) {
          socket.destroy();
          reject(err);
        }
      };
      const onError = (err: NodeJS.ErrnoException): void => settle(openFailed(err.code ?? err.message, err));
      const onAbort = (): void => settle(openFailed('aborted'));
      const onConnect = (): void => {
        settle();
        resolve(new SocketTransport(socket, address, handlers));
      };
      const timer = setTimeout(() => settle(openFailed(`no answer within ${timeoutMs} ms`)), timeoutMs);
      socket.once('error', onError);
      socket.once('connect', onConnect);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
}

/** The card side of a TCP link: one listening socket that outlives its connections. */
export interface TcpListener {
  /** Each call resolves with the next peer's connection (one already waiting, or the next to arrive). */
  readonly factory: TransportFactory;
  /** Stops listening and drops the current and any waiting peer. Idempotent. */
  close(): Promise<void>;
}

interface Waiter {
  handlers: TransportHandlers;
  resolve(transport: Transport): void;
  reject(err: Error): void;
}

/**
 * Serves tcp://host:port for one peer at a time, like a UART has one other end.
 *
 * While a host is attached (or one is held waiting for the next factory call),
 * a new connection is REFUSED: closed at once, with a log line. The line has
 * one owner, the gateway; a second process that connects (a stray `card info`,
 * a test tool) must not take the card away from it mid-exchange.
 *
 * A host that vanished without a FIN (power loss, Wi-Fi) would keep its slot
 * as a ghost; TCP keepalive on the accepted socket finds such a peer dead and
 * frees the slot, after which the host's reconnect is accepted.
 *
 * The server starts listening on the first factory call and stays up across
 * connections; close() stops it. A connection that arrives while nobody waits
 * is held, paused, until the next factory call.
 */
export function createTcpListener(endpoint: TcpEndpoint, logger?: Logger): TcpListener {
  const address = formatTcpAddress(endpoint);
  let server: net.Server | undefined;
  let listening: Promise<void> | undefined;
  let active: SocketTransport | undefined;
  let held: net.Socket | undefined;
  let waiter: Waiter | undefined;
  let closed = false;

  const openFailed = (reason: string, cause?: unknown): CardError =>
    new CardError(CardErrorCode.LinkOpenFailed, `Cannot serve ${address}`, { address, reason }, { cause });

  const handOver = (socket: net.Socket, w: Waiter): void => {
    const peer = `${address} <- ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const transport: SocketTransport = new SocketTransport(socket, peer, {
      onData: (chunk) => w.handlers.onData(chunk),
      onClose: (err) => {
        if (active === transport) active = undefined;
        w.handlers.onClose(err);
      },
    });
    active = transport;
    // The host's FIN frees the line at once (before our own 'close'), so a host
    // that closes and reconnects right away is not refused as a second host.
    socket.once('end', () => {
      if (active === transport) active = undefined;
    });
    w.resolve(transport);
  };

  const onConnection = (socket: net.Socket): void => {
    socket.setNoDelay(true);
    socket.on('error', () => undefined); // reported through 'close' by SocketTransport
    if (closed) return void socket.destroy();
    const from = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (active || (held && !held.destroyed)) {
      logger?.warn({ address, from }, 'line busy: refused a second host on the card line');
      return void socket.destroy();
    }
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      handOver(socket, w);
      return;
    }
    held = socket;
    socket.once('close', () => {
      if (held === socket) held = undefined;
    });
  };

  const ensureListening = (): Promise<void> => {
    if (listening) return listening;
    const s = net.createServer({ noDelay: true }, onConnection);
    server = s;
    listening = new Promise<void>((resolve, reject) => {
      let up = false;
      s.on('error', (err: NodeJS.ErrnoException) => {
        // After listen succeeded an error (EMFILE on accept) leaves the server up.
        if (up) return;
        // Forget the failed server so that the next factory call tries again.
        server = undefined;
        listening = undefined;
        reject(openFailed(err.code ?? err.message, err));
      });
      s.listen(endpoint.port, endpoint.host, () => {
        up = true;
        resolve();
      });
    });
    return listening;
  };

  const factory: TransportFactory = async (handlers, signal) => {
    if (closed) throw openFailed('listener closed');
    if (signal?.aborted) throw openFailed('aborted');
    await ensureListening();
    if (closed) throw openFailed('listener closed');
    return new Promise<Transport>((resolve, reject) => {
      const w: Waiter = { handlers, resolve, reject };
      if (held && !held.destroyed) {
        const socket = held;
        held = undefined;
        return handOver(socket, w);
      }
      waiter?.reject(openFailed('superseded by a newer open'));
      waiter = w;
      signal?.addEventListener(
        'abort',
        () => {
          if (waiter !== w) return;
          waiter = undefined;
          reject(openFailed('aborted'));
        },
        { once: true },
      );
    });
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    waiter?.reject(openFailed('listener closed'));
    waiter = undefined;
    held?.destroy();
    held = undefined;
    const s = server;
    server = undefined;
    // Stop accepting first, before anything else yields: the host sees our FIN
    // while the current connection closes gracefully, and its reconnect must
    // find nobody listening.
    const stopServer = () => (s?.listening ? new Promise<void>((resolve) => s.close(() => resolve())) : Promise.resolve());
    const stopped = s?.listening ? stopServer() : (listening ?? Promise.resolve()).then(stopServer, () => undefined);
    await active?.close();
    active = undefined;
    await stopped;
  };

  return { factory, close };
}

export function formatTcpAddress(endpoint: TcpEndpoint): string {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `tcp://${host}:${endpoint.port}`;
}
