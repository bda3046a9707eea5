/**
 * The purse's data elements (PROTOCOL.md, "Records" and "Commands"): BER-TLV
 * with two-byte `DFxx` tags (ISO/IEC 7816-4 §6.3). The card reads command
 * data strictly: exactly the listed tags, in the listed order, each once, so
 * that signed authorization bytes have exactly one meaning. Every reader
 * returns null for anything else; the caller answers `6A80`.
 */
import { encodeTlv, parseTlvs } from '../apdu/tlv.js';
import { CURRENCY_PATTERN, MAX_TIME_SECONDS, U64_MAX } from './purse-state.js';

export { PurseTag } from '../home-card/purse-tags.js';

/** The values of exactly `tags`, in that order and nothing else; null otherwise. */
export function readExactTlvs(data: Buffer, tags: readonly number[]): Buffer[] | null {
  let items;
  try {
    items = parseTlvs(data);
  } catch {
    return null;
  }
  if (items.length !== tags.length || items.some((item, i) => item.tag !== tags[i])) return null;
  return items.map((item) => item.value);
}

export function readU64(b: Buffer): bigint | null {
  return b.length === 8 ? b.readBigUInt64BE(0) : null;
}

export function readU32(b: Buffer): number | null {
  return b.length === 4 ? b.readUInt32BE(0) : null;
}

/** 8-byte Unix seconds, within MAX_TIME_SECONDS. */
export function readTime(b: Buffer): number | null {
  const t = readU64(b);
  return t === null || t > BigInt(MAX_TIME_SECONDS) ? null : Number(t);
}

/** Well-formed UTF-8 of min..max bytes. */
export function readUtf8(b: Buffer, min: number, max: number): string | null {
  if (b.length < min || b.length > max) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
  } catch {
    return null;
  }
}

export function readCurrency(b: Buffer): string | null {
  const s = b.toString('latin1');
  return CURRENCY_PATTERN.test(s) ? s : null;
}

export function u64(n: bigint): Buffer {
  if (n < 0n || n > U64_MAX) throw new RangeError('not an unsigned 64-bit value');
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function tlv(tag: number, value: Uint8Array): Buffer {
  return encodeTlv(tag, value);
}
