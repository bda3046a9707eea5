/**
 * The signed load receipt LOAD answers (PROTOCOL.md, "Purse", claim 6):
 *
 *   E2 { DF57 card id, DF50 counter, DF53 amount, DF54 currency,
 *        DF71 challenge, DF41 new balance } ‖ DF5E { card signature over the value of E2 }
 *
 * The e-money manager keeps it as the card's acknowledgement of the top-up
 * the issuer authorized (the challenge ties it to that authorization).
 */
import type { KeyObject } from 'node:crypto';
import {
  LOAD_CHALLENGE_LENGTH,
  PurseTag,
  decodeCardId,
  decodeCurrency,
  decodeU32,
  decodeU64,
  malformed,
  readExactTlvs,
  verifiesWith,
  type MinorUnits,
} from './purse-encoding.js';

export interface LoadReceipt {
  /** 16 lower-case hex digits. */
  cardId: string;
  /** The transaction counter after this LOAD. */
  counter: number;
  amount: MinorUnits;
  currency: string;
  /** The card challenge the issuer's authorization was bound to (16 bytes). */
  challenge: Buffer;
  /** The balance after the load. */
  balance: MinorUnits;
  /** The value of E2: what the signature covers. */
  receiptBytes: Buffer;
  /** DER ECDSA-Sig-Value by the card key. */
  signature: Buffer;
  /** The whole receipt as the card answered it. */
  bytes: Buffer;
}

const RECEIPT_TAGS = [PurseTag.CardId, PurseTag.Seq, PurseTag.Amount, PurseTag.Currency, PurseTag.Challenge, PurseTag.Balance] as const;

/** Parse a load receipt; throws CardError(MalformedApdu). Does not verify. */
export function parseLoadReceipt(bytes: Uint8Array): LoadReceipt {
  const [receiptBytes, signature] = readExactTlvs(bytes, [PurseTag.LoadReceipt, PurseTag.Signature], 'load receipt');
  const [cardId, counter, amount, currency, challenge, balance] = readExactTlvs(receiptBytes!, RECEIPT_TAGS, 'load receipt');
  if (challenge!.length !== LOAD_CHALLENGE_LENGTH) throw malformed('load receipt challenge', challenge!.length);
  if (signature!.length < 8 || signature![0] !== 0x30) throw malformed('load receipt signature', signature!.length);
  return {
    cardId: decodeCardId(cardId!),
    counter: decodeU32(counter!, 'load receipt counter'),
    amount: decodeU64(amount!, 'load receipt amount'),
    currency: decodeCurrency(currency!),
    challenge: challenge!,
    balance: decodeU64(balance!, 'load receipt balance'),
    receiptBytes: receiptBytes!,
    signature: signature!,
    bytes: Buffer.from(bytes),
  };
}

/** True when the card key signed the receipt bytes and they encode the receipt's fields. */
export function verifyLoadReceipt(receipt: LoadReceipt, cardPublicKey: KeyObject | Uint8Array): boolean {
  try {
    const encoded = parseLoadReceipt(receipt.bytes);
    const same =
      encoded.receiptBytes.equals(receipt.receiptBytes) &&
      encoded.cardId === receipt.cardId &&
      encoded.counter === receipt.counter &&
      BigInt(encoded.amount) === BigInt(receipt.amount) &&
      encoded.currency === receipt.currency &&
      encoded.challenge.equals(receipt.challenge) &&
      BigInt(encoded.balance) === BigInt(receipt.balance);
    return same && verifiesWith(cardPublicKey, receipt.receiptBytes, receipt.signature);
  } catch {
    return false;
  }
}
