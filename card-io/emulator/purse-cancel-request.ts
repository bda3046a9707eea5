/**
 * SIGN CANCEL REQUEST (80 58 00 00): PROTOCOL.md, "Purse". The card signs,
 * for a paid decision in its log, a request to that decision's market to
 * cancel it, so the market can tell that the request comes from the card
 * that paid (it verifies the signature with the card certificate) and not
 * from anyone who has seen the record. Changes nothing on the card.
 *
 * Checks, in order: 6985 no purse → 6982 PIN1 not verified → 6A80 malformed
 * data (exactly `DF50` seq) → 6A88 no record with that seq in the log →
 * 6985 the record is cancelled.
 */
import { createHash } from 'node:crypto';
import { SW } from '../apdu/status-words.js';
import type { CommandApdu } from '../apdu/command-apdu.js';
import { ok, p1p2, status, type AppletContext, type Reply } from './applet-context.js';
import { signDigest } from './digest-signer.js';
import { RecordStatus } from './purse-state.js';
import { PurseTag, readExactTlvs, readU32, tlv, u32, u64 } from './purse-tlv.js';

/** SIGN CANCEL REQUEST: 80 58 00 00, `DF50` seq, Le 00. */
export function signCancelRequest(cmd: CommandApdu, ctx: AppletContext): Reply {
  if (p1p2(cmd) !== 0x0000) return status(SW.INCORRECT_P1P2);
  const { purse, keyPair, cardId } = ctx.state;
  if (purse.currency === null || keyPair === null) return status(SW.CONDITIONS_NOT_SATISFIED);
  if (!ctx.session.pin1Verified) return status(SW.SECURITY_STATUS_NOT_SATISFIED);
  const v = readExactTlvs(cmd.data, [PurseTag.Seq]);
  const seq = v && readU32(v[0]!);
  if (seq === null) return status(SW.WRONG_DATA);
  const record = purse.log.find((r) => r.seq === seq);
  if (record === undefined) return status(SW.REFERENCED_DATA_NOT_FOUND);
  if (record.status !== RecordStatus.Paid) return status(SW.CONDITIONS_NOT_SATISFIED);
  // DF57 DF50 DF51 …: no record (DF50 first) or load receipt (DF57 DF50 DF53) has these bytes, so the signature is for this use only.
  const body = Buffer.concat([
    tlv(PurseTag.CardId, cardId),
    tlv(PurseTag.Seq, u32(record.seq)),
    tlv(PurseTag.Market, Buffer.from(record.market, 'utf8')),
    tlv(PurseTag.OrderId, Buffer.from(record.orderId, 'utf8')),
    tlv(PurseTag.Amount, u64(record.amount)),
    tlv(PurseTag.Currency, Buffer.from(record.currency, 'latin1')),
  ]);
  const signature = signDigest(keyPair.privateKeyPkcs8, createHash('sha256').update(body).digest());
  return ok(Buffer.concat([tlv(PurseTag.CancelRequest, body), tlv(PurseTag.Signature, signature)]));
}
