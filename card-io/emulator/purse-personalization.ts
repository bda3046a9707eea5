/**
 * PUT DATA for the purse (PROTOCOL.md, "PUT DATA tags for the purse"), admin
 * authenticated (checked by putData) and in personalization only (`6985`):
 *
 * - `DF14` the issuer's load-signing public key, SPKI DER, P-256 (`6A80`);
 * - `DF15` currency (3) ‖ maximum balance (8) ‖ per-payment limit (8) ‖
 *   daily limit (8) [‖ per-load limit (8); without it, the maximum balance];
 *   a balance already above the new maximum is `6911`;
 * - `DF16` the initial balance (8), after `DF15` (`6985`); above the maximum
 *   balance `6911`.
 *
 * ACTIVATE does not require the purse.
 */
import { createPublicKey } from 'node:crypto';
import { SW } from '../apdu/status-words.js';
import { ok, status, type AppletContext, type Reply } from './applet-context.js';
import { LifeCycle } from './card-state.js';
import type { PurseState } from './purse-state.js';
import { readCurrency, readU64 } from './purse-tlv.js';

const PARAMETERS_LENGTH = 3 + 8 + 8 + 8;
const PARAMETERS_WITH_LOAD_LIMIT_LENGTH = PARAMETERS_LENGTH + 8;

async function commitPurse(ctx: AppletContext, purse: PurseState): Promise<Reply> {
  await ctx.commit({ ...ctx.state, purse });
  return ok();
}

function notInPersonalization(ctx: AppletContext): boolean {
  return ctx.state.lifeCycle !== LifeCycle.Personalization;
}

/** DF14: the issuer's load-signing key; stored as re-encoded SPKI DER. */
export async function putIssuerKey(data: Buffer, ctx: AppletContext): Promise<Reply> {
  if (notInPersonalization(ctx)) return status(SW.CONDITIONS_NOT_SATISFIED);
  let spki: Buffer;
  try {
    const key = createPublicKey({ key: data, format: 'der', type: 'spki' });
    if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return status(SW.WRONG_DATA);
    spki = key.export({ type: 'spki', format: 'der' });
  } catch {
    return status(SW.WRONG_DATA);
  }
  return commitPurse(ctx, { ...ctx.state.purse, issuerKey: spki });
}

/** DF15: currency ‖ maximum balance ‖ per-payment limit ‖ daily limit [‖ per-load limit]. */
export async function putPurseParameters(data: Buffer, ctx: AppletContext): Promise<Reply> {
  if (notInPersonalization(ctx)) return status(SW.CONDITIONS_NOT_SATISFIED);
  if (data.length !== PARAMETERS_LENGTH && data.length !== PARAMETERS_WITH_LOAD_LIMIT_LENGTH) return status(SW.WRONG_DATA);
  const currency = readCurrency(data.subarray(0, 3));
  if (currency === null) return status(SW.WRONG_DATA);
  const [maxBalance, perPaymentLimit, dailyLimit] = [3, 11, 19].map((at) => readU64(data.subarray(at, at + 8))!) as [bigint, bigint, bigint];
  const perLoadLimit = data.length === PARAMETERS_WITH_LOAD_LIMIT_LENGTH ? readU64(data.subarray(27, 35))! : maxBalance;
  const purse = ctx.state.purse;
  if (purse.balance > maxBalance) return status(SW.LIMIT_EXCEEDED);
  return commitPurse(ctx, { ...purse, currency, maxBalance, perPaymentLimit, dailyLimit, perLoadLimit });
}

/** DF16: the initial balance (the sandbox's documented starting balance). */
export async function putInitialBalance(data: Buffer, ctx: AppletContext): Promise<Reply> {
  const purse = ctx.state.purse;
  if (notInPersonalization(ctx) || purse.currency === null) return status(SW.CONDITIONS_NOT_SATISFIED);
  const balance = readU64(data);
  if (balance === null) return status(SW.WRONG_DATA);
  if (balance > purse.maxBalance) return status(SW.LIMIT_EXCEEDED);
  return commitPurse(ctx, { ...purse, balance });
}
