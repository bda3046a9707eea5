/**
 * What the issuer requires before it debits a reserved load: the card's own
 * signed load receipt (PROTOCOL.md, LOAD) for exactly that reservation — the
 * same card, amount and currency, and the challenge the authorization was
 * bound to, which makes the receipt answer this reservation and no other —
 * signed by the card's key.
 *
 * The sandbox issuer learns a card's key from the card certificate sent with
 * the first commit for that card and keeps it (trust on first use); a later
 * commit with another key for the card is refused. A production issuer would
 * take the card key from its own card registry.
 */
import { timingSafeEqual, X509Certificate } from 'node:crypto';
import { parseLoadReceipt, verifyLoadReceipt } from '../../../card-io/home-card/load-receipt.js';
import { HttpError } from '../http-json.js';
import type { IssuerReservation } from './accounts.js';

export class CardKeys {
  private readonly keys = new Map<string, Buffer>();

  /** The card's key as SPKI DER: the pinned one, or the certificate's on first use (not pinned until `pin`). */
  keyFor(cardId: string, certificateDer: Buffer): Buffer {
    let spki: Buffer;
    try {
      spki = new X509Certificate(certificateDer).publicKey.export({ type: 'spki', format: 'der' });
    } catch {
      throw new HttpError(400, 'bad-request', 'cardCertificate must be a DER X.509 certificate in base64');
    }
    const pinned = this.keys.get(cardId);
    if (pinned && !(pinned.length === spki.length && timingSafeEqual(pinned, spki))) {
      throw new HttpError(422, 'receipt-invalid', `The certificate's key is not the key the issuer knows for card ${cardId}`);
    }
    return spki;
  }

  pin(cardId: string, spki: Buffer): void {
    if (!this.keys.has(cardId)) this.keys.set(cardId, spki);
  }
}

/** Throws 422 `receipt-invalid` unless `receiptBytes` is the card's signed receipt for `r`. */
export function checkReceipt(r: IssuerReservation, receiptBytes: Buffer, cardKey: Buffer): void {
  let receipt;
  try {
    receipt = parseLoadReceipt(receiptBytes);
  } catch {
    throw new HttpError(422, 'receipt-invalid', 'The receipt is not a card load receipt');
  }
  const matches =
    receipt.cardId === r.cardId &&
    BigInt(receipt.amount) === BigInt(r.amount) &&
    receipt.currency === r.currency &&
    receipt.challenge.equals(Buffer.from(r.challenge, 'base64'));
  if (!matches) throw new HttpError(422, 'receipt-invalid', `The receipt is not for load ${r.id} (card, amount, currency or challenge differ)`);
  if (!verifyLoadReceipt(receipt, cardKey)) throw new HttpError(422, 'receipt-invalid', 'The receipt signature does not verify with the card key');
}
