/**
 * Small probes for link tests: wait for a status, collect received bytes,
 * find a free TCP port, capture log records. Every wait has a timeout that
 * fails with what was seen, and clears its timer, so ava never hangs on it.
 */
import type { ByteLink, LinkStatus } from '../../card-io/link/link.js';
import type { LogFn, Logger, LogLevel } from '../../card-io/base/log.js';
import { reservePort } from './port-reservation.js';

/** Resolves when `link.status` is (or becomes) `status`; rejects after `timeoutMs`. */
export function waitForStatus(link: ByteLink, status: LinkStatus, timeoutMs = 5000): Promise<void> {
  if (link.status === status) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${link.address} did not become ${status} within ${timeoutMs} ms (is ${link.status})`));
    }, timeoutMs);
    const off = link.onStatus((s) => {
      if (s !== status) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

export interface ByteCollector {
  /** Everything received so far, as one buffer. */
  bytes(): Buffer;
  /** Resolves with the first `length` bytes once that many arrived; rejects after `timeoutMs`. */
  waitForLength(length: number, timeoutMs?: number): Promise<Buffer>;
  /** Number of onData calls so far (a 64 KiB write arrives in many chunks). */
  readonly chunkCount: number;
}

/** Subscribes to `link.onData` and keeps every chunk (concatenated on demand, not per chunk). */
export function collectBytes(link: ByteLink): ByteCollector {
  const chunks: Buffer[] = [];
  let total = 0;
  let wake: (() => void) | undefined;
  link.onData((chunk) => {
    chunks.push(chunk);
    total += chunk.length;
    wake?.();
  });
  const bytes = (): Buffer => Buffer.concat(chunks, total);
  return {
    bytes,
    get chunkCount() {
      return chunks.length;
    },
    waitForLength(length, timeoutMs = 5000) {
      if (total >= length) return Promise.resolve(bytes().subarray(0, length));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          wake = undefined;
          reject(new Error(`${link.address} received ${total} of ${length} bytes within ${timeoutMs} ms`));
        }, timeoutMs);
        wake = () => {
          if (total < length) return;
          clearTimeout(timer);
          wake = undefined;
          resolve(bytes().subarray(0, length));
        };
      });
    },
  };
}

/**
 * A TCP port for a peer started later, held for this test process: see
 * port-reservation.ts for why a port-0 bind released again is not enough.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return reservePort(host);
}

export interface LogRecord {
  level: LogLevel;
  msg: string | undefined;
  fields: Record<string, unknown>;
}

/** A Logger that keeps its records; `enabled` decides what isLevelEnabled answers. */
export function capturingLogger(enabled: (level: LogLevel) => boolean = () => true): Logger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const fn = (level: LogLevel): LogFn =>
      ((objOrMsg: Record<string, unknown> | string, msg?: string) => {
        if (typeof objOrMsg === 'string') records.push({ level, msg: objOrMsg, fields: { ...bindings } });
        else records.push({ level, msg, fields: { ...bindings, ...objOrMsg } });
      }) as LogFn;
    return {
      trace: fn('trace'),
      debug: fn('debug'),
      info: fn('info'),
      warn: fn('warn'),
      error: fn('error'),
      isLevelEnabled: enabled,
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return Object.assign(make({}), { records });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
