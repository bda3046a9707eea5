/**
 * A scripted TransportFactory for unit tests of the reconnecting link: it
 * fails the first N opens, then hands out transports the test can feed bytes
 * into and drop, and records what was written. No timers of its own.
 */
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import type { Transport, TransportFactory, TransportHandlers } from '../../card-io/link/link.js';
import type { Scheduler } from '../../card-io/link/reconnecting-link.js';

export class FakeTransport implements Transport {
  readonly written: Buffer[] = [];
  closed = false;

  constructor(private readonly handlers: TransportHandlers) {}

  async write(bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new CardError(CardErrorCode.LinkDisconnected, 'fake transport closed');
    this.written.push(Buffer.from(bytes));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Bytes arriving from the peer. */
  deliver(chunk: Buffer): void {
    this.handlers.onData(chunk);
  }

  /** The peer goes away. */
  drop(error = new Error('fake peer gone')): void {
    this.closed = true;
    this.handlers.onClose(error);
  }
}

export interface FakeFactory {
  readonly factory: TransportFactory;
  /** Open calls so far. */
  readonly attempts: number;
  /** Transports handed out, oldest first. */
  readonly transports: FakeTransport[];
  /** Make the next `n` opens fail with LinkOpenFailed. */
  failNext(n: number): void;
}

/** `failures`: how many opens fail first (Infinity: all of them). */
export function fakeFactory(failures = 0): FakeFactory {
  let failuresLeft = failures;
  let attempts = 0;
  const transports: FakeTransport[] = [];
  const factory: TransportFactory = async (handlers) => {
    attempts += 1;
    if (failuresLeft > 0) {
      failuresLeft -= 1;
      throw new CardError(CardErrorCode.LinkOpenFailed, 'fake open failed', { path: 'fake' });
    }
    const t = new FakeTransport(handlers);
    transports.push(t);
    return t;
  };
  return {
    factory,
    get attempts() {
      return attempts;
    },
    transports,
    failNext(n) {
      failuresLeft = n;
    },
  };
}

/** A Scheduler that records each requested delay and runs the callback on the next turn. */
export function recordingScheduler(): { schedule: Scheduler; delays: number[] } {
  const delays: number[] = [];
  const schedule: Scheduler = (delayMs, fn) => {
    delays.push(delayMs);
    const handle = setImmediate(fn);
    return () => clearImmediate(handle);
  };
  return { schedule, delays };
}
