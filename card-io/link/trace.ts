/**
 * Direction-tagged hex dumps of link bytes, for debugging a line on a bench.
 * Lazy: nothing is formatted unless the logger's trace level is on.
 *
 * The link layer cannot redact: it does not parse APDUs, so a dump may show a
 * VERIFY PIN or a key in transit. That is why the link only calls this when
 * its `traceBytes` option is also set (see reconnecting-link.ts).
 */
import type { Logger } from '../base/log.js';

/** 'out': written by us; 'in': received from the peer. */
export type TraceDirection = 'in' | 'out';

/** Bytes shown per dump; a 64 KiB write would otherwise make a 190 KB log line. */
export const TRACE_MAX_BYTES = 256;

export function traceBytes(logger: Logger, direction: TraceDirection, bytes: Uint8Array): void {
  if (!logger.isLevelEnabled('trace')) return;
  logger.trace({ direction, length: bytes.length, hex: hexDump(bytes, TRACE_MAX_BYTES) }, direction === 'out' ? '» link out' : '« link in');
}

/** "00 c1 01 fe" for up to `maxBytes` bytes, then " … (+n bytes)". */
export function hexDump(bytes: Uint8Array, maxBytes = TRACE_MAX_BYTES): string {
  const shown = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, maxBytes));
  const hex = shown.toString('hex').replace(/(..)(?!$)/g, '$1 ');
  return bytes.length > maxBytes ? `${hex} … (+${bytes.length - maxBytes} bytes)` : hex;
}
