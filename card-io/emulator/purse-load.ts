/**
 * GET LOAD CHALLENGE (80 54 00 00) and LOAD (80 56 00 00): PROTOCOL.md,
 * "Purse", claim 6. The issuer authorizes a top-up by signing an
 * authorization bound to this card (its id), its currency and a fresh card
 * challenge, so an authorization loads money once and only here.
 *
 * LOAD uses up the pending challenge at the first byte, whatever the outcome
 * (a replayed authorization finds no matching challenge). Then, in order:
 *   6985 no purse or no issuer key → 6982 PIN1 not verified →
 *   6985 no pending challenge → 6A80 malformed, an amount of 0, another
 *   card, currency or challenge, or an issuer signature that does not verify →
 *   6911 over the per-load limit or the maximum balance.
 * Success credits, counts, keeps the receipt (GET DATA DF43) and commits in
 * one commit, and answers the signed load receipt. LOAD carries no time, so the latest PAY time stays.
 */
import { timingSafeEqual } from 'node:crypto';
import { SW } from '../apdu/status-words.js';
import type { CommandApdu } from '../apdu/command-apdu.js';
import { ok, p1p2, status, type AppletContext, type Reply } from './applet-context.js';
import { encodeLoadReceipt, verifiesWith } from './purse-records.js';
import { nextCounter } from './purse-state.js';
import { PurseTag, readCurrency, readExactTlvs, readU64 } from './purse-tlv.js';

export const LOAD_CHALLENGE_LENGTH = 16;

/** GET LOAD CHALLENGE: 80 54 00 00, Le 10. Replaces any pending challenge. */
export function getLoadChallenge(cmd: CommandApdu, ctx: AppletContext): Reply {
  if (p1p2(cmd) !== 0x0000) return status(SW.INCORRECT_P1P2);
  if (cmd.data.length !== 0 || cmd.ne !== LOAD_CHALLENGE_LENGTH) return status(SW.WRONG_LENGTH);
  if (ctx.state.purse.currency === null) return status(SW.CONDITIONS_NOT_SATISFIED);
  if (!ctx.session.pin1Verified) return status(SW.SECURITY_STATUS_NOT_SATISFIED);
  const challenge = Buffer.from(ctx.random(LOAD_CHALLENGE_LENGTH));
  ctx.session.loadChallenge = challenge;
  return ok(Buffer.from(challenge));
}

interface LoadAuthorization {
  cardId: Buffer;
  amount: bigint;
  currency: string;
  challenge: Buffer;
}

/** `DF57` card id, `DF53` amount, `DF54` currency, `DF71` challenge. */
function parseAuthorization(bytes: Buffer): LoadAuthorization | null {
  const v = readExactTlvs(bytes, [PurseTag.CardId, PurseTag.Amount, PurseTag.Currency, PurseTag.Challenge]);
  if (v === null) return null;
  const amount = readU64(v[1]!);
  const currency = readCurrency(v[2]!);
  if (amount === null || currency === null || v[3]!.length !== LOAD_CHALLENGE_LENGTH) return null;
  return { cardId: v[0]!, amount, currency, challenge: v[3]! };
}

/** LOAD: 80 56 00 00, `DF70` { authorization } ‖ `DF61` issuer signature. */
export async function load(cmd: CommandApdu, ctx: AppletContext): Promise<Reply> {
  if (p1p2(cmd) !== 0x0000) return status(SW.INCORRECT_P1P2);
  const pending = ctx.session.loadChallenge;
  ctx.session.loadChallenge = null;
  const { purse, keyPair, cardId } = ctx.state;
  if (purse.currency === null || purse.issuerKey === null || keyPair === null) return status(SW.CONDITIONS_NOT_SATISFIED);
  if (!ctx.session.pin1Verified) return status(SW.SECURITY_STATUS_NOT_SATISFIED);
  if (pending === null) return status(SW.CONDITIONS_NOT_SATISFIED);

  const parts = readExactTlvs(cmd.data, [PurseTag.LoadAuthorization, PurseTag.AuthorizationSignature]);
  const auth = parts && parseAuthorization(parts[0]!);
  const valid =
    parts !== null &&
    auth !== null &&
    auth.amount > 0n &&
    auth.cardId.equals(cardId) &&
    auth.currency === purse.currency &&
    timingSafeEqual(auth.challenge, pending) &&
    verifiesWith(purse.issuerKey, parts[0]!, parts[1]!);
  if (!valid) {
    ctx.logger.info('LOAD authorization refused');
    return status(SW.WRONG_DATA);
  }
  const balance = purse.balance + auth.amount;
  if (auth.amount > purse.perLoadLimit || balance > purse.maxBalance) return status(SW.LIMIT_EXCEEDED);
  const counter = nextCounter(purse);
  if (counter === null) return status(SW.CONDITIONS_NOT_SATISFIED);

  const receipt = encodeLoadReceipt(keyPair, { cardId, counter, amount: auth.amount, currency: purse.currency, challenge: pending, balance });
  // The receipt is committed with the credit, so GET DATA DF43 can answer it again if this answer is lost.
  await ctx.commit({ ...ctx.state, purse: { ...purse, balance, counter, lastLoadReceipt: receipt } });
  ctx.logger.info({ counter }, 'Purse loaded');
  return ok(Buffer.from(receipt));
}
