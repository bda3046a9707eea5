/**
 * A Transport over one connected TCP socket. Shared by the client side
 * (tcp-transport.ts connects) and the card side (tcp-listener.ts accepts),
 * so both report a lost peer and a failed write the same way.
 */
import type { Socket } from 'node:net';
import { CardError, CardErrorCode } from '../errors.js';
import type { Transport, TransportHandlers } from './link.js';

/** How long close() waits for the peer to answer our FIN before it cuts the connection, in ms. */
const GRACEFUL_CLOSE_MS = 500;

export class SocketTransport implements Transport {
  private ended = false;
  private closedByUs = false;

  /**
   * Takes over `socket`: attaches the data listener (which starts the flow of
   * any bytes buffered since the connection was made) and the close listener.
   */
  constructor(
    private readonly socket: Socket,
    private readonly address: string,
    private readonly handlers: TransportHandlers,
  ) {
    let lastError: Error | undefined;
    socket.on('data', (chunk: Buffer) => {
      if (!this.ended) handlers.onData(chunk);
    });
    socket.on('error', (err: Error) => {
      lastError = err;
    });
    // 'close' always follows 'error', and follows the peer's FIN (allowHalfOpen is off).
    socket.on('close', () => this.finish(lastError ?? new Error(`Peer ${address} closed the connection`)));
    if (socket.destroyed) this.finish(new Error(`Connection to ${address} already closed`));
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.ended || this.socket.destroyed || !this.socket.writable) {
      return Promise.reject(this.disconnectedError());
    }
    return new Promise<void>((resolve, reject) => {
      // Copy: the caller may reuse its buffer before the kernel took it.
      this.socket.write(Buffer.from(bytes), (err) => {
        if (err) reject(this.disconnectedError(err));
        else resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (this.ended) return;
    this.closedByUs = true;
    this.ended = true;
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      // A graceful end, so that the peer has seen our FIN before close() resolves:
      // a card line serves one host at a time, and a host that closes and at once
      // reconnects must not find its old connection still holding the line. A
      // peer that does not answer the FIN in time is cut off.
      const cutOff = setTimeout(() => this.socket.destroy(), GRACEFUL_CLOSE_MS);
      cutOff.unref();
      this.socket.once('close', () => clearTimeout(cutOff));
      this.socket.end();
    });
  }

  /** Ends the connection as if the peer had gone; the handlers hear onClose(reason). */
  drop(reason: Error): void {
    if (this.ended) return;
    this.finish(reason);
    this.socket.destroy();
  }

  private finish(err: Error): void {
    if (this.ended || this.closedByUs) return;
    this.ended = true;
    this.handlers.onClose(err);
  }

  private disconnectedError(cause?: Error): CardError {
    return new CardError(
      CardErrorCode.LinkDisconnected,
      `Connection to ${this.address} is not open`,
      { address: this.address, reason: cause?.message },
      { cause },
    );
  }
}
