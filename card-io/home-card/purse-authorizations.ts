/**
 * The authorizations a purse accepts from outside (PROTOCOL.md, "Purse"):
 * the market's for a CANCEL (claim 5) and the issuer's for a LOAD (claim 6).
 * Whoever authorizes builds the bytes with these functions and signs them
 * (DER ECDSA P-256 over SHA-256 of exactly these bytes, `signAuthorization`);
 * the card reads them strictly, tags in this order and nothing else.
 *
 *   cancel authorization = DF57 card id ‖ DF50 seq ‖ DF52 order id ‖ DF53 amount ‖ DF54 currency
 *   load authorization   = DF57 card id ‖ DF53 amount ‖ DF54 currency ‖ DF71 card challenge (16)
 */
import { sign, type KeyObject } from 'node:crypto';
import { encodeTlvs } from '../apdu/tlv.js';
import { CardError, CardErrorCode } from '../errors.js';
import {
  LOAD_CHALLENGE_LENGTH,
  MAX_ORDER_ID_BYTES,
  PurseTag,
  decodeCardId,
  decodeCurrency,
  decodeU32,
  decodeU64,
  decodeUtf8,
  encodeAmount,
  encodeCardId,
  encodeCurrency,
  encodeOrderId,
  encodeSeq,
  malformed,
  readExactTlvs,
  type MinorUnits,
} from './purse-encoding.js';

export interface CancelAuthorization {
  /** The card's id: 16 hex digits or 8 bytes. */
  cardId: string | Uint8Array;
  /** The seq of the record to cancel. */
  seq: number;
  orderId: string;
  /** The record's amount, minor units (a safe-integer number or a bigint). */
  amount: MinorUnits;
  currency: string;
}

export interface LoadAuthorization {
  cardId: string | Uint8Array;
  /** Minor units, at least 1. */
  amount: MinorUnits;
  currency: string;
  /** The card's load challenge (GET LOAD CHALLENGE), 16 bytes. */
  challenge: Uint8Array;
}

/** The value of DF60: what the market signs to cancel a payment. */
export function encodeCancelAuthorization(a: CancelAuthorization): Buffer {
  return encodeTlvs([
    [PurseTag.CardId, encodeCardId(a.cardId)],
    [PurseTag.Seq, encodeSeq(a.seq)],
    [PurseTag.OrderId, encodeOrderId(a.orderId)],
    [PurseTag.Amount, encodeAmount(a.amount, 'amount', 1n)],
    [PurseTag.Currency, encodeCurrency(a.currency)],
  ]);
}

/** The value of DF70: what the issuer signs to load money. */
export function encodeLoadAuthorization(a: LoadAuthorization): Buffer {
  if (!(a.challenge instanceof Uint8Array) || a.challenge.length !== LOAD_CHALLENGE_LENGTH) {
    throw new CardError(CardErrorCode.InvalidArgument, 'challenge must be 16 bytes', { argument: 'challenge' });
  }
  return encodeTlvs([
    [PurseTag.CardId, encodeCardId(a.cardId)],
    [PurseTag.Amount, encodeAmount(a.amount, 'amount', 1n)],
    [PurseTag.Currency, encodeCurrency(a.currency)],
    [PurseTag.Challenge, a.challenge],
  ]);
}

/** Read cancel authorization bytes (e.g. to show what a market signed). Card id as hex. */
export function parseCancelAuthorization(bytes: Uint8Array): CancelAuthorization & { cardId: string } {
  const tags = [PurseTag.CardId, PurseTag.Seq, PurseTag.OrderId, PurseTag.Amount, PurseTag.Currency];
  const [cardId, seq, orderId, amount, currency] = readExactTlvs(bytes, tags, 'cancel authorization');
  return {
    cardId: decodeCardId(cardId!),
    seq: decodeU32(seq!, 'cancel seq'),
    orderId: decodeUtf8(orderId!, 'cancel order id', MAX_ORDER_ID_BYTES),
    amount: decodeU64(amount!, 'cancel amount'),
    currency: decodeCurrency(currency!),
  };
}

/** Read load authorization bytes (e.g. the issuer checking a request). Card id as hex. */
export function parseLoadAuthorization(bytes: Uint8Array): LoadAuthorization & { cardId: string; challenge: Buffer } {
  const tags = [PurseTag.CardId, PurseTag.Amount, PurseTag.Currency, PurseTag.Challenge];
  const [cardId, amount, currency, challenge] = readExactTlvs(bytes, tags, 'load authorization');
  if (challenge!.length !== LOAD_CHALLENGE_LENGTH) throw malformed('load challenge', challenge!.length);
  return {
    cardId: decodeCardId(cardId!),
    amount: decodeU64(amount!, 'load amount'),
    currency: decodeCurrency(currency!),
    challenge: challenge!,
  };
}

/** Sign authorization bytes as the card expects: DER ECDSA P-256 over SHA-256. */
export function signAuthorization(bytes: Uint8Array, privateKey: KeyObject): Buffer {
  return sign('sha256', bytes, { key: privateKey, dsaEncoding: 'der' });
}
