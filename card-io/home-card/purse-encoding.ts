/**
 * The purse's data elements on the driver side (PROTOCOL.md, "Purse"): tags,
 * amounts, currency, order ids, card ids and times, checked before anything
 * is sent (CardError InvalidArgument) and decoded strictly from what the card
 * or a receiver hands in (CardError MalformedApdu).
 *
 * Amounts are unsigned 64-bit minor units. They are given as a number (a
 * safe integer) or a bigint, and returned as `MinorUnits`: a number when the
 * value is at most Number.MAX_SAFE_INTEGER (2^53 − 1, exact in a double), a
 * bigint above that. `BigInt(x)` works on both when exact sums are needed.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { parseTlvs } from '../apdu/tlv.js';
import { CardError, CardErrorCode } from '../errors.js';

export { PurseTag } from './purse-tags.js';

/** Minor units: a number up to 2^53 − 1, a bigint above. */
export type MinorUnits = number | bigint;

export const U64_MAX = (1n << 64n) - 1n;
export const MAX_ORDER_ID_BYTES = 64;
export const LOAD_CHALLENGE_LENGTH = 16;
export const CARD_ID_LENGTH = 8;
const CURRENCY = /^[A-Za-z]{3}$/;

function invalid(what: string, message: string): CardError {
  return new CardError(CardErrorCode.InvalidArgument, `${what} ${message}`, { argument: what });
}

export function malformed(what: string, length: number): CardError {
  return new CardError(CardErrorCode.MalformedApdu, `Malformed ${what}`, { length });
}

/** A bigint as MinorUnits: a number when it is a safe integer. */
export function toMinorUnits(n: bigint): MinorUnits {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** 8 bytes big-endian; `min` is 1 for amounts that must be positive. */
export function encodeAmount(value: MinorUnits, what: string, min = 0n): Buffer {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw invalid(what, 'must be a safe integer or a bigint');
  if (typeof value !== 'number' && typeof value !== 'bigint') throw invalid(what, 'must be a number or a bigint');
  const n = BigInt(value);
  if (n < min || n > U64_MAX) throw invalid(what, `must be ${min} to 2^64 - 1 minor units`);
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

export function encodeCurrency(currency: string): Buffer {
  if (typeof currency !== 'string' || !CURRENCY.test(currency)) throw invalid('currency', 'must be 3 ASCII letters');
  return Buffer.from(currency, 'latin1');
}

export function encodeOrderId(orderId: string): Buffer {
  const b = typeof orderId === 'string' ? Buffer.from(orderId, 'utf8') : Buffer.alloc(0);
  if (b.length < 1 || b.length > MAX_ORDER_ID_BYTES || b.toString('utf8') !== orderId) {
    throw invalid('order id', 'must be 1 to 64 bytes of UTF-8');
  }
  return b;
}

export function encodeSeq(seq: number): Buffer {
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff_ffff) throw invalid('seq', 'must be an unsigned 32-bit integer');
  const b = Buffer.alloc(4);
  b.writeUInt32BE(seq);
  return b;
}

/** A card id as 16 hex digits (as SELECT reports it) or 8 bytes. */
export function encodeCardId(cardId: string | Uint8Array): Buffer {
  const b = typeof cardId === 'string' && /^[0-9a-fA-F]{16}$/.test(cardId) ? Buffer.from(cardId, 'hex') : cardId;
  if (!(b instanceof Uint8Array) || b.length !== CARD_ID_LENGTH) throw invalid('card id', 'must be 8 bytes or 16 hex digits');
  return Buffer.from(b);
}

/** The values of exactly `tags` in this order, nothing else; else CardError(MalformedApdu). */
export function readExactTlvs(bytes: Uint8Array, tags: readonly number[], what: string): Buffer[] {
  let items;
  try {
    items = parseTlvs(bytes);
  } catch {
    throw malformed(what, bytes.length);
  }
  if (items.length !== tags.length || items.some((item, i) => item.tag !== tags[i])) throw malformed(what, bytes.length);
  return items.map((item) => Buffer.from(item.value));
}

export function decodeU64(b: Buffer, what: string): MinorUnits {
  if (b.length !== 8) throw malformed(what, b.length);
  return toMinorUnits(b.readBigUInt64BE(0));
}

export function decodeU32(b: Buffer, what: string): number {
  if (b.length !== 4) throw malformed(what, b.length);
  return b.readUInt32BE(0);
}

export function decodeCurrency(b: Buffer): string {
  const s = b.toString('latin1');
  if (!CURRENCY.test(s)) throw malformed('currency', b.length);
  return s;
}

export function decodeUtf8(b: Buffer, what: string, maxBytes: number): string {
  try {
    if (b.length < 1 || b.length > maxBytes) throw new RangeError();
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
  } catch {
    throw malformed(what, b.length);
  }
}

export function decodeCardId(b: Buffer): string {
  if (b.length !== CARD_ID_LENGTH) throw malformed('card id', b.length);
  return b.toString('hex');
}

/** True when `signature` (DER ECDSA) by `key` (KeyObject or SPKI DER) covers SHA-256(`bytes`). */
export function verifiesWith(key: KeyObject | Uint8Array, bytes: Buffer, signature: Buffer): boolean {
  try {
    const k = key instanceof Uint8Array ? createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' }) : key;
    return verify('sha256', bytes, { key: k, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}
