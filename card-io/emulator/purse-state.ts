/**
 * The purse's persistent state (PROTOCOL.md, "Purse (claims 4, 5, 6)"): the
 * card is authoritative for money. Amounts are unsigned 64-bit minor units,
 * held as bigint. Like `CardState`, a `PurseState` is immutable: a purse
 * command builds the next one and commits it with the rest of the image in
 * ONE commit, so balance, counters and log change together or not at all.
 *
 * A purse whose currency is null was never set up (an image written before
 * the purse existed loads that way); every purse command then answers `6985`.
 */
import { createHash } from 'node:crypto';

export const PURSE_LOG_SIZE = 32;
/** PAY may give a time at most this much before the latest PAY time (clock skew, not a rollback). */
export const MAX_ROLLBACK_SECONDS = 300;
export const SECONDS_PER_DAY = 86_400;
export const U64_MAX = (1n << 64n) - 1n;
export const U32_MAX = 0xffff_ffff;
/** Times are Unix seconds; bounded so that milliseconds stay exact (certificate validity checks). */
export const MAX_TIME_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);
export const CURRENCY_PATTERN = /^[A-Za-z]{3}$/;
export const MAX_ORDER_ID_BYTES = 64;

export const RecordStatus = { Paid: 0x01, Cancelled: 0x02 } as const;
export type RecordStatus = (typeof RecordStatus)[keyof typeof RecordStatus];

/** One payment decision as the card keeps it, with its latest signature. */
export interface PurseRecord {
  /** The transaction counter value the PAY made it at. */
  readonly seq: number;
  /** The first dNSName of the market leaf verified in the PAY's release. */
  readonly market: string;
  readonly orderId: string;
  readonly amount: bigint;
  readonly currency: string;
  /** Unix seconds, as the gateway gave it to PAY. */
  readonly time: number;
  readonly status: RecordStatus;
  /** DER ECDSA by the card key over SHA-256 of the record bytes with this status. */
  readonly signature: Buffer;
}

export interface PurseState {
  /** 3 ASCII letters; null: no purse (personalization never set one up). */
  readonly currency: string | null;
  readonly balance: bigint;
  readonly maxBalance: bigint;
  readonly perPaymentLimit: bigint;
  readonly dailyLimit: bigint;
  /**
   * The most one LOAD may credit. Set with DF15's optional fifth field; when
   * not set it is the maximum balance (no limit beyond it).
   */
  readonly perLoadLimit: bigint;
  /** The Unix day (time / 86400) `spentToday` belongs to. */
  readonly day: number;
  readonly spentToday: bigint;
  /** Transaction counter, unsigned 32-bit, +1 for every PAY, CANCEL and LOAD. */
  readonly counter: number;
  /**
   * The latest time a PAY was given, Unix seconds. PROTOCOL.md says "PAY or
   * LOAD", but LOAD carries no time, so only PAY moves it.
   */
  readonly lastTime: number;
  /** The issuer's load-signing public key, SPKI DER (P-256). */
  readonly issuerKey: Buffer | null;
  /**
   * The signed receipt of the latest successful LOAD, as LOAD answered it
   * (GET DATA DF43): when that answer is lost on the line, the gateway reads it
   * here and settles the top-up from the card's own word. Null before any LOAD.
   */
  readonly lastLoadReceipt: Buffer | null;
  /** The decision log, oldest first, at most PURSE_LOG_SIZE records. */
  readonly log: readonly PurseRecord[];
  /**
   * The (market, order) keys of the latest PAID_ORDERS_SIZE payments, oldest
   * first (orderKey): PAY refuses a second payment for the same market and
   * order (6A89) even after its record rolled off the 32-record log, so a
   * retry cannot debit twice whatever the gateway remembers.
   */
  readonly paidOrders: readonly Buffer[];
}

export const EMPTY_PURSE: PurseState = Object.freeze({
  currency: null,
  balance: 0n,
  maxBalance: 0n,
  perPaymentLimit: 0n,
  dailyLimit: 0n,
  perLoadLimit: 0n,
  day: 0,
  spentToday: 0n,
  counter: 0,
  lastTime: 0,
  issuerKey: null,
  lastLoadReceipt: null,
  log: Object.freeze([]),
  paidOrders: Object.freeze([]),
});

/** How many (market, order) keys the card keeps: 1024 × 16 bytes. */
export const PAID_ORDERS_SIZE = 1024;
export const ORDER_KEY_BYTES = 16;

/**
 * SHA-256("homegate/order" 0 ‖ market ‖ 0 ‖ order id), first 16 bytes. The
 * market is lower-cased: dNSNames compare ASCII case-insensitively (RFC 4343).
 * 128 bits keep an accidental collision (a wrongly refused PAY) out of reach.
 */
export function orderKey(market: string, orderId: string): Buffer {
  return createHash('sha256')
    .update('homegate/order\0')
    .update(market.toLowerCase(), 'utf8')
    .update('\0')
    .update(orderId, 'utf8')
    .digest()
    .subarray(0, ORDER_KEY_BYTES);
}

/** The keys with `key` appended, the oldest dropped beyond PAID_ORDERS_SIZE. */
export function appendOrderKey(keys: readonly Buffer[], key: Buffer): Buffer[] {
  return [...keys, key].slice(-PAID_ORDERS_SIZE);
}

/** The log with `record` appended, the oldest dropped beyond PURSE_LOG_SIZE. */
export function appendRecord(log: readonly PurseRecord[], record: PurseRecord): PurseRecord[] {
  return [...log, record].slice(-PURSE_LOG_SIZE);
}

/** The log with the record of the same seq replaced. */
export function replaceRecord(log: readonly PurseRecord[], record: PurseRecord): PurseRecord[] {
  return log.map((r) => (r.seq === record.seq ? record : r));
}

/** The counter after one more transaction; null when it would wrap (the card then refuses, 6985). */
export function nextCounter(p: PurseState): number | null {
  return p.counter >= U32_MAX ? null : p.counter + 1;
}
