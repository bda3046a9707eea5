/**
 * Signed cancel requests (PROTOCOL.md, SIGN CANCEL REQUEST): the card's
 * request to a market to cancel one of its paid decisions, for the gateway
 * (which forwards it) and the market (which verifies it with the card
 * certificate before it signs a cancel authorization).
 *
 *   signed cancel request = E3 { DF57 card id, DF50 seq, DF51 market,
 *                                DF52 order id, DF53 amount, DF54 currency }
 *                           ‖ DF5E { DER ECDSA by the card key over SHA-256(value of E3) }
 */
import type { KeyObject } from 'node:crypto';
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

export interface SignedCancelRequest {
  cardId: string;
  seq: number;
  market: string;
  orderId: string;
  amount: MinorUnits;
  currency: string;
  /** The value of E3: what the signature covers. */
  requestBytes: Buffer;
  signature: Buffer;
  /** E3 ‖ DF5E as the card answered it, to forward. */
  bytes: Buffer;
}

const TAGS = [PurseTag.CardId, PurseTag.Seq, PurseTag.Market, PurseTag.OrderId, PurseTag.Amount, PurseTag.Currency] as const;

/** Parse `E3 { … } ‖ DF5E { signature }`. Throws CardError(MalformedApdu); does not verify. */
export function parseSignedCancelRequest(bytes: Uint8Array): SignedCancelRequest {
  const [body, signature] = readExactTlvs(bytes, [PurseTag.CancelRequest, PurseTag.Signature], 'signed cancel request');
  if (signature!.length < 8 || signature![0] !== 0x30) throw malformed('cancel request signature', signature!.length);
  const [cardId, seq, market, orderId, amount, currency] = readExactTlvs(body!, TAGS, 'cancel request');
  return {
    cardId: decodeCardId(cardId!),
    seq: decodeU32(seq!, 'cancel request seq'),
    market: decodeUtf8(market!, 'cancel request market', 255),
    orderId: decodeUtf8(orderId!, 'cancel request order id', MAX_ORDER_ID_BYTES),
    amount: decodeU64(amount!, 'cancel request amount'),
    currency: decodeCurrency(currency!),
    requestBytes: body!,
    signature: signature!,
    bytes: Buffer.from(bytes),
  };
}

/** True when the card key (KeyObject or SPKI DER) signed the request bytes. The fields are the parsed bytes'. */
export function verifySignedCancelRequest(r: SignedCancelRequest, cardPublicKey: KeyObject | Uint8Array): boolean {
  return verifiesWith(cardPublicKey, r.requestBytes, r.signature);
}
