/**
 * CANCEL (80 52 00 00): PROTOCOL.md, "Purse", claim 5. A decision is
 * cancelled only with the market's signed authorization; the amount goes
 * back into the purse (the maximum balance does not apply to a refund), the
 * record is marked cancelled and re-signed, and the counter counts, all in
 * one commit.
 *
 * Checks, in order (a refused CANCEL changes nothing):
 *   6985 no purse → 6982 PIN1 not verified → 6A80 malformed data →
 *   6A88 no record with that seq in the log (looked up first: the
 *   certificate is checked against the record's time and market) →
 *   6300 xx the signing certificate (purse-market-signer.ts) →
 *   6300 02 the signature → 6A80 a field differs from the record →
 *   6985 already cancelled.
 */
import { SW } from '../apdu/status-words.js';
import type { CommandApdu } from '../apdu/command-apdu.js';
import { ok, p1p2, status, type AppletContext, type Reply } from './applet-context.js';
import { RejectReason } from './certificate-chain.js';
import { checkMarketSigner } from './purse-market-signer.js';
import { encodeSignedRecord, signRecord, verifiesWith } from './purse-records.js';
import { MAX_ORDER_ID_BYTES, nextCounter, RecordStatus, replaceRecord, U64_MAX } from './purse-state.js';
import { PurseTag, readCurrency, readExactTlvs, readU32, readU64, readUtf8 } from './purse-tlv.js';

interface CancelAuthorization {
  cardId: Buffer;
  seq: number;
  orderId: string;
  amount: bigint;
  currency: string;
}

/** `DF57` card id, `DF50` seq, `DF52` order id, `DF53` amount, `DF54` currency. */
function parseAuthorization(bytes: Buffer): CancelAuthorization | null {
  const tags = [PurseTag.CardId, PurseTag.Seq, PurseTag.OrderId, PurseTag.Amount, PurseTag.Currency];
  const v = readExactTlvs(bytes, tags);
  if (v === null || v[0]!.length !== 8) return null;
  const seq = readU32(v[1]!);
  const orderId = readUtf8(v[2]!, 1, MAX_ORDER_ID_BYTES);
  const amount = readU64(v[3]!);
  const currency = readCurrency(v[4]!);
  if (seq === null || orderId === null || amount === null || currency === null) return null;
  return { cardId: v[0]!, seq, orderId, amount, currency };
}

function reject(reason: RejectReason): Reply {
  return status(SW.VERIFICATION_FAILED, Buffer.from([reason]));
}

/** CANCEL: 80 52 00 00, `DF60` { authorization } ‖ `DF61` market signature ‖ `DF62` signing certificate. */
export async function cancel(cmd: CommandApdu, ctx: AppletContext): Promise<Reply> {
  if (p1p2(cmd) !== 0x0000) return status(SW.INCORRECT_P1P2);
  const { purse, keyPair, cardId, anchors } = ctx.state;
  if (purse.currency === null || keyPair === null) return status(SW.CONDITIONS_NOT_SATISFIED);
  if (!ctx.session.pin1Verified) return status(SW.SECURITY_STATUS_NOT_SATISFIED);

  const parts = readExactTlvs(cmd.data, [PurseTag.CancelAuthorization, PurseTag.AuthorizationSignature, PurseTag.MarketCertificate]);
  const auth = parts && parseAuthorization(parts[0]!);
  if (!parts || !auth) return status(SW.WRONG_DATA);
  const [authBytes, signature, certificate] = parts as [Buffer, Buffer, Buffer];
  const record = purse.log.find((r) => r.seq === auth.seq);
  if (record === undefined) return status(SW.REFERENCED_DATA_NOT_FOUND);

  const signer = checkMarketSigner(certificate, anchors, record.time, record.market);
  if (!signer.ok) {
    ctx.logger.info({ seq: auth.seq, reason: signer.reason }, 'Cancel signer rejected');
    return reject(signer.reason);
  }
  if (!verifiesWith(signer.publicKey, authBytes, signature)) return reject(RejectReason.BadSignature);
  const matches = auth.cardId.equals(cardId) && auth.orderId === record.orderId && auth.amount === record.amount && auth.currency === record.currency;
  if (!matches) return status(SW.WRONG_DATA);
  if (record.status === RecordStatus.Cancelled) return status(SW.CONDITIONS_NOT_SATISFIED);
  const counter = nextCounter(purse);
  if (counter === null) return status(SW.CONDITIONS_NOT_SATISFIED);
  const balance = purse.balance + record.amount;
  if (balance > U64_MAX) return status(SW.LIMIT_EXCEEDED);

  const cancelled = signRecord(keyPair, cardId, { ...record, status: RecordStatus.Cancelled });
  await ctx.commit({
    ...ctx.state,
    purse: { ...purse, balance, counter, log: replaceRecord(purse.log, cancelled) },
  });
  ctx.logger.info({ seq: record.seq, market: record.market }, 'Payment cancelled');
  return ok(encodeSignedRecord(cardId, cancelled));
}
