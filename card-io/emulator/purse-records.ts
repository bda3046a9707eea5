/**
 * Decision records and load receipts as the card encodes and signs them
 * (PROTOCOL.md, "Records"): the record is `DF50 DF57 DF51 DF52 DF53 DF54 DF55
 * DF56` in this order; a signed record is `E1 { record } ‖ DF5E { signature }`,
 * the signature a DER ECDSA by the card key over SHA-256 of the value of `E1`.
 * A load receipt is the same shape with `E2`.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { CardKeyPair } from './card-state.js';
import { signDigest } from './digest-signer.js';
import { PurseTag, tlv, u32, u64 } from './purse-tlv.js';
import type { PurseRecord } from './purse-state.js';

/**
 * A DER ECDSA P-256 signature over SHA-256(`bytes`) by `key` (a KeyObject or
 * SPKI DER), as markets and the issuer sign authorizations. Any other key
 * type, or a signature that does not parse, is false.
 */
export function verifiesWith(key: KeyObject | Buffer, bytes: Buffer, signature: Buffer): boolean {
  try {
    const k = Buffer.isBuffer(key) ? createPublicKey({ key, format: 'der', type: 'spki' }) : key;
    if (k.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return false;
    return verify('sha256', bytes, { key: k, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

export type UnsignedRecord = Omit<PurseRecord, 'signature'>;

/** The record bytes (the value of `E1`) for the card `cardId`. */
export function recordBytes(cardId: Buffer, r: UnsignedRecord): Buffer {
  return Buffer.concat([
    tlv(PurseTag.Seq, u32(r.seq)),
    tlv(PurseTag.CardId, cardId),
    tlv(PurseTag.Market, Buffer.from(r.market, 'utf8')),
    tlv(PurseTag.OrderId, Buffer.from(r.orderId, 'utf8')),
    tlv(PurseTag.Amount, u64(r.amount)),
    tlv(PurseTag.Currency, Buffer.from(r.currency, 'latin1')),
    tlv(PurseTag.Time, u64(BigInt(r.time))),
    tlv(PurseTag.Status, Buffer.from([r.status])),
  ]);
}

function signBytes(key: CardKeyPair, bytes: Buffer): Buffer {
  return signDigest(key.privateKeyPkcs8, createHash('sha256').update(bytes).digest());
}

/** The record with a fresh card signature over its current fields (status included). */
export function signRecord(key: CardKeyPair, cardId: Buffer, r: UnsignedRecord): PurseRecord {
  return { ...r, signature: signBytes(key, recordBytes(cardId, r)) };
}

/** `E1 { record } ‖ DF5E { signature }`, as PAY, CANCEL and READ RECORD answer it. */
export function encodeSignedRecord(cardId: Buffer, r: PurseRecord): Buffer {
  return Buffer.concat([tlv(PurseTag.SignedRecord, recordBytes(cardId, r)), tlv(PurseTag.Signature, r.signature)]);
}

export interface LoadReceiptFields {
  cardId: Buffer;
  counter: number;
  amount: bigint;
  currency: string;
  challenge: Buffer;
  balance: bigint;
}

/** `E2 { DF57 DF50 DF53 DF54 DF71 DF41 } ‖ DF5E { card signature over the value of E2 }`. */
export function encodeLoadReceipt(key: CardKeyPair, f: LoadReceiptFields): Buffer {
  const body = Buffer.concat([
    tlv(PurseTag.CardId, f.cardId),
    tlv(PurseTag.Seq, u32(f.counter)),
    tlv(PurseTag.Amount, u64(f.amount)),
    tlv(PurseTag.Currency, Buffer.from(f.currency, 'latin1')),
    tlv(PurseTag.Challenge, f.challenge),
    tlv(PurseTag.Balance, u64(f.balance)),
  ]);
  return Buffer.concat([tlv(PurseTag.LoadReceipt, body), tlv(PurseTag.Signature, signBytes(key, body))]);
}
