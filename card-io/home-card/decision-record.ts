/**
 * Signed decision records (PROTOCOL.md, "Records"; claim 4), for the gateway
 * and for anyone who receives one (a mail recipient, the market): parse the
 * bytes PAY, CANCEL and READ RECORD answer, and verify them with the card's
 * public key (GET DATA DF04, or the card certificate's key).
 *
 *   signed record = E1 { DF50 seq, DF57 card id, DF51 market, DF52 order id,
 *                        DF53 amount, DF54 currency, DF55 time, DF56 status }
 *                   ‖ DF5E { DER ECDSA by the card key over SHA-256(value of E1) }
 */
import type { KeyObject } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  MAX_ORDER_ID_BYTES,
  PurseTag,
  decodeCardId,
  decodeCurrency,
  decodeU32,
  decodeU64,
  decodeUtf8,
  malformed,
  readExactTlvs,
  verifiesWith,
  type MinorUnits,
} from './purse-encoding.js';

export type RecordStatus = 'paid' | 'cancelled';

export interface DecisionRecord {
  /** The card's transaction counter value the payment was made at; names the record. */
  seq: number;
  /** 16 lower-case hex digits. */
  cardId: string;
  /** The first dNSName of the market certificate the card verified for the payment. */
  market: string;
  orderId: string;
  /** Minor units: a number up to 2^53 − 1, a bigint above. */
  amount: MinorUnits;
  currency: string;
  /** The time the gateway gave with PAY (whole seconds). */
  time: Date;
  status: RecordStatus;
}

export interface SignedRecord extends DecisionRecord {
  /** The record bytes (the value of E1): what the signature covers. */
  recordBytes: Buffer;
  /** DER ECDSA-Sig-Value by the card key. */
  signature: Buffer;
  /** The whole signed record as the card answered it (E1 ‖ DF5E), to store or forward. */
  bytes: Buffer;
}

const STATUS: Readonly<Record<number, RecordStatus>> = { 0x01: 'paid', 0x02: 'cancelled' };
const RECORD_TAGS = [
  PurseTag.Seq,
  PurseTag.CardId,
  PurseTag.Market,
  PurseTag.OrderId,
  PurseTag.Amount,
  PurseTag.Currency,
  PurseTag.Time,
  PurseTag.Status,
] as const;
const MAX_MARKET_BYTES = 255;

/** Parse the record bytes (the value of E1). Throws CardError(MalformedApdu). */
export function parseDecisionRecord(recordBytes: Uint8Array): DecisionRecord {
  const [seq, cardId, market, orderId, amount, currency, time, status] = readExactTlvs(recordBytes, RECORD_TAGS, 'decision record');
  const seconds = decodeU64(time!, 'record time');
  const statusText = status!.length === 1 ? STATUS[status![0]!] : undefined;
  if (typeof seconds !== 'number' || seconds > Number.MAX_SAFE_INTEGER / 1000) throw malformed('record time', 8);
  if (statusText === undefined) throw malformed('record status', status!.length);
  return {
    seq: decodeU32(seq!, 'record seq'),
    cardId: decodeCardId(cardId!),
    market: decodeUtf8(market!, 'record market', MAX_MARKET_BYTES),
    orderId: decodeUtf8(orderId!, 'record order id', MAX_ORDER_ID_BYTES),
    amount: decodeU64(amount!, 'record amount'),
    currency: decodeCurrency(currency!),
    time: new Date(seconds * 1000),
    status: statusText,
  };
}

/** Parse `E1 { record } ‖ DF5E { signature }`. Throws CardError(MalformedApdu); does not verify. */
export function parseSignedRecord(bytes: Uint8Array): SignedRecord {
  const [recordBytes, signature] = readExactTlvs(bytes, [PurseTag.SignedRecord, PurseTag.Signature], 'signed record');
  if (signature!.length < 8 || signature![0] !== 0x30) throw malformed('record signature', signature!.length);
  return { ...parseDecisionRecord(recordBytes!), recordBytes: recordBytes!, signature: signature!, bytes: Buffer.from(bytes) };
}

function fieldsOf(r: DecisionRecord): unknown[] {
  return [r.seq, r.cardId, r.market, r.orderId, BigInt(r.amount), r.currency, r.time.getTime(), r.status];
}

/**
 * True when the card key signed `recordBytes` AND the record's fields are the
 * ones those bytes encode (so a SignedRecord whose fields were edited after
 * parsing does not pass). `cardPublicKey`: a KeyObject or SPKI DER.
 */
export function verifySignedRecord(signed: SignedRecord, cardPublicKey: KeyObject | Uint8Array): boolean {
  try {
    if (!isDeepStrictEqual(fieldsOf(parseDecisionRecord(signed.recordBytes)), fieldsOf(signed))) return false;
  } catch {
    return false;
  }
  return verifiesWith(cardPublicKey, signed.recordBytes, signed.signature);
}
