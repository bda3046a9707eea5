/**
 * An in-memory pair of byte links, for unit tests and for running the
 * emulator inside the gateway's process. A fault hook can rewrite, split,
 * drop or duplicate each chunk in flight, like a noisy UART.
 */
import { CardError, CardErrorCode } from '../errors.js';
import type { ByteLink, LinkStatus } from './link.js';
import { Listeners } from './listeners.js';

export type Direction = 'a-to-b' | 'b-to-a';

/** Returns the chunks to deliver instead of `chunk` (an empty array drops it). */
export type FaultHook = (chunk: Buffer, direction: Direction) => Buffer[];

export interface MemoryLinkPair {
  readonly a: MemoryLink;
  readonly b: MemoryLink;
  /** Set or clear the fault hook; applies to chunks written from now on. */
  setFault(hook: FaultHook | undefined): void;
  /** Simulate the wire being cut (both ends report disconnected) and restored. */
  disconnect(): void;
  reconnect(): void;
}

export class MemoryLink implements ByteLink {
  private readonly data = new Listeners<Buffer>();
  private readonly statusListeners = new Listeners<LinkStatus>();
  private currentStatus: LinkStatus = 'connected';
  peer!: MemoryLink;

  constructor(
    readonly address: string,
    private readonly deliver: (chunk: Buffer, to: MemoryLink) => void,
  ) {}

  get status(): LinkStatus {
    return this.currentStatus;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.currentStatus !== 'connected') {
      throw new CardError(CardErrorCode.LinkDisconnected, `Link ${this.address} is ${this.currentStatus}`);
    }
    this.deliver(Buffer.from(bytes), this.peer);
  }

  onData(listener: (chunk: Buffer) => void): () => void {
    return this.data.add(listener);
  }

  onStatus(listener: (status: LinkStatus) => void): () => void {
    return this.statusListeners.add(listener);
  }

  async close(): Promise<void> {
    this.setStatus('closed');
  }

  /** @internal */
  receive(chunk: Buffer): void {
    if (this.currentStatus === 'connected') this.data.emit(chunk);
  }

  /** @internal */
  setStatus(status: LinkStatus): void {
    if (this.currentStatus === status || this.currentStatus === 'closed') return;
    this.currentStatus = status;
    this.statusListeners.emit(status);
  }
}

export function createMemoryLinkPair(name = 'memory'): MemoryLinkPair {
  let fault: FaultHook | undefined;
  const deliver = (chunk: Buffer, to: MemoryLink): void => {
    const direction: Direction = to === b ? 'a-to-b' : 'b-to-a';
    const chunks = fault ? fault(chunk, direction) : [chunk];
    // Asynchronous delivery, as from a real port: a writer never re-enters its own reader.
    // All chunks of one write arrive in the same tick, as bytes of one burst on a wire do.
    setImmediate(() => {
      for (const c of chunks) to.receive(c);
    });
  };
  const a = new MemoryLink(`${name}:a`, deliver);
  const b = new MemoryLink(`${name}:b`, deliver);
  a.peer = b;
  b.peer = a;
  return {
    a,
    b,
    setFault(hook) {
      fault = hook;
    },
    disconnect() {
      a.setStatus('disconnected');
      b.setStatus('disconnected');
    },
    reconnect() {
      a.setStatus('connected');
      b.setStatus('connected');
    },
  };
}
