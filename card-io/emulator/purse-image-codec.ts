/**
 * The purse inside the card image body (image-codec.ts): amounts as decimal
 * strings (JSON numbers cannot hold 64 bits), binary as base64. Decoding is
 * as strict as the rest of the image: anything out of range is
 * CardError(ImageCorrupt), never used.
 *
 * An image written before the purse existed has no `purse` member; it loads
 * as EMPTY_PURSE (currency unset), so old cards keep working and answer
 * `6985` to purse commands.
 */
import { createPublicKey } from 'node:crypto';
import { CardError, CardErrorCode } from '../errors.js';
import {
  CURRENCY_PATTERN,
  EMPTY_PURSE,
  MAX_ORDER_ID_BYTES,
  MAX_TIME_SECONDS,
  ORDER_KEY_BYTES,
  orderKey,
  PAID_ORDERS_SIZE,
  PURSE_LOG_SIZE,
  RecordStatus,
  U32_MAX,
  U64_MAX,
  type PurseRecord,
  type PurseState,
} from './purse-state.js';

type Json = Record<string, unknown>;

const b64 = (b: Buffer) => b.toString('base64');

function corrupt(reason: string): CardError {
  return new CardError(CardErrorCode.ImageCorrupt, `Card image is corrupt: ${reason}`, { reason });
}

function recordToJson(r: PurseRecord): Json {
  return {
    seq: r.seq,
    market: r.market,
    orderId: r.orderId,
    amount: r.amount.toString(),
    currency: r.currency,
    time: r.time,
    status: r.status,
    signature: b64(r.signature),
  };
}

export function purseToJson(p: PurseState): Json {
  return {
    currency: p.currency,
    balance: p.balance.toString(),
    maxBalance: p.maxBalance.toString(),
    perPaymentLimit: p.perPaymentLimit.toString(),
    dailyLimit: p.dailyLimit.toString(),
    perLoadLimit: p.perLoadLimit.toString(),
    day: p.day,
    spentToday: p.spentToday.toString(),
    counter: p.counter,
    lastTime: p.lastTime,
    issuerKey: p.issuerKey && b64(p.issuerKey),
    lastLoadReceipt: p.lastLoadReceipt && b64(p.lastLoadReceipt),
    log: p.log.map(recordToJson),
    paidOrders: p.paidOrders.map(b64),
  };
}

function obj(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw corrupt(`${what} is not an object`);
  return v as Json;
}

function amount(v: unknown, what: string): bigint {
  if (typeof v !== 'string' || !/^(?:0|[1-9][0-9]{0,19})$/.test(v) || BigInt(v) > U64_MAX) {
    throw corrupt(`${what} is not an unsigned 64-bit amount`);
  }
  return BigInt(v);
}

function integer(v: unknown, what: string, max: number): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > max) throw corrupt(`${what} is out of range`);
  return v as number;
}

function base64(v: unknown, what: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(v)) throw corrupt(`${what} is not base64`);
  return Buffer.from(v, 'base64');
}

function currency(v: unknown, what: string): string {
  if (typeof v !== 'string' || !CURRENCY_PATTERN.test(v)) throw corrupt(`${what} is not a currency`);
  return v;
}

function text(v: unknown, what: string, maxBytes: number): string {
  if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v, 'utf8') > maxBytes) throw corrupt(`${what} is not valid text`);
  return v;
}

function issuerKey(v: unknown): Buffer | null {
  if (v === null) return null;
  const spki = base64(v, 'purse.issuerKey');
  try {
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    if (key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return spki;
  } catch {
    // reported below
  }
  throw corrupt('purse.issuerKey is not a P-256 SPKI');
}

function record(v: unknown, i: number): PurseRecord {
  const w = `purse.log[${i}]`;
  const o = obj(v, w);
  if (o.status !== RecordStatus.Paid && o.status !== RecordStatus.Cancelled) throw corrupt(`${w}.status is unknown`);
  return {
    seq: integer(o.seq, `${w}.seq`, U32_MAX),
    market: text(o.market, `${w}.market`, 255),
    orderId: text(o.orderId, `${w}.orderId`, MAX_ORDER_ID_BYTES),
    amount: amount(o.amount, `${w}.amount`),
    currency: currency(o.currency, `${w}.currency`),
    time: integer(o.time, `${w}.time`, MAX_TIME_SECONDS),
    status: o.status,
    signature: base64(o.signature, `${w}.signature`),
  };
}

/**
 * `paidOrders`: absent in an image written before the card kept them, which
 * then starts from the keys of the payments in its log.
 */
function paidOrders(v: unknown, log: readonly PurseRecord[]): Buffer[] {
  if (v === undefined) return log.map((r) => orderKey(r.market, r.orderId));
  if (!Array.isArray(v) || v.length > PAID_ORDERS_SIZE) throw corrupt(`purse.paidOrders is not a list of at most ${PAID_ORDERS_SIZE}`);
  return v.map((k, i) => {
    const key = base64(k, `purse.paidOrders[${i}]`);
    if (key.length !== ORDER_KEY_BYTES) throw corrupt(`purse.paidOrders[${i}] is not ${ORDER_KEY_BYTES} bytes`);
    return key;
  });
}

/** The purse from an image body's `purse` member; absent (an older image) is EMPTY_PURSE. */
export function purseFromJson(v: unknown): PurseState {
  if (v === undefined) return EMPTY_PURSE;
  const o = obj(v, 'purse');
  if (!Array.isArray(o.log) || o.log.length > PURSE_LOG_SIZE) throw corrupt('purse.log is not a list of at most 32');
  const log = o.log.map(record);
  return {
    currency: o.currency === null ? null : currency(o.currency, 'purse.currency'),
    balance: amount(o.balance, 'purse.balance'),
    maxBalance: amount(o.maxBalance, 'purse.maxBalance'),
    perPaymentLimit: amount(o.perPaymentLimit, 'purse.perPaymentLimit'),
    dailyLimit: amount(o.dailyLimit, 'purse.dailyLimit'),
    // Absent in images written before the card had it: the maximum balance was the only bound.
    perLoadLimit: o.perLoadLimit === undefined ? amount(o.maxBalance, 'purse.maxBalance') : amount(o.perLoadLimit, 'purse.perLoadLimit'),
    day: integer(o.day, 'purse.day', MAX_TIME_SECONDS),
    spentToday: amount(o.spentToday, 'purse.spentToday'),
    counter: integer(o.counter, 'purse.counter', U32_MAX),
    lastTime: integer(o.lastTime, 'purse.lastTime', MAX_TIME_SECONDS),
    issuerKey: issuerKey(o.issuerKey),
    // Absent in images written before the card kept it.
    lastLoadReceipt: o.lastLoadReceipt === undefined || o.lastLoadReceipt === null ? null : base64(o.lastLoadReceipt, 'purse.lastLoadReceipt'),
    log,
    paidOrders: paidOrders(o.paidOrders, log),
  };
}
