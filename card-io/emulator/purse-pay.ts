/**
 * PAY (80 50 00 00): PROTOCOL.md, "Purse", claim 4. The card decides, debits,
 * records the decision signed with its key and answers the signed record.
 *
 * Checks, in order (the first failure decides, and a refused PAY changes
 * nothing, not even the release):
 *   6985 no purse → 6982 not released → 6985 no verified market →
 *   6A80 malformed data, other currency, or an agreed amount (DF58, what the
 *   terminal showed the person) that is not the amount (DF53) →
 *   6A89 a payment for this market and order was already decided (the
 *   paid-orders table, so a retry or a second request never debits twice;
 *   the release is kept, as for every refusal) →
 *   6A80 a time more than 300 s before the
 *   latest PAY (the day cannot be rolled back) → 6911 amount 0, over the
 *   per-payment limit or over the daily limit → 6910 over the balance.
 *
 * Days: day = time / 86400. A later day resets spent-today; a time up to
 * 300 s back across midnight counts against the latest day, so the daily
 * limit cannot be renewed by going back and forth.
 */
import { SW } from '../apdu/status-words.js';
import type { CommandApdu } from '../apdu/command-apdu.js';
import { ok, p1p2, status, type AppletContext, type Reply } from './applet-context.js';
import { clearRelease } from './card-state.js';
import { encodeSignedRecord, signRecord } from './purse-records.js';
import { appendOrderKey, appendRecord, MAX_ORDER_ID_BYTES, MAX_ROLLBACK_SECONDS, nextCounter, orderKey, RecordStatus, SECONDS_PER_DAY } from './purse-state.js';
import { PurseTag, readCurrency, readExactTlvs, readTime, readU64, readUtf8 } from './purse-tlv.js';

interface PaymentData {
  orderId: string;
  amount: bigint;
  currency: string;
  time: number;
}

/**
 * `DF52` order id, `DF53` amount, `DF54` currency, `DF55` time, `DF58` agreed
 * amount; null when malformed or when the agreed amount is not the amount.
 */
function parsePaymentData(data: Buffer): PaymentData | null {
  const v = readExactTlvs(data, [PurseTag.OrderId, PurseTag.Amount, PurseTag.Currency, PurseTag.Time, PurseTag.AgreedAmount]);
  if (v === null) return null;
  const orderId = readUtf8(v[0]!, 1, MAX_ORDER_ID_BYTES);
  const amount = readU64(v[1]!);
  const currency = readCurrency(v[2]!);
  const time = readTime(v[3]!);
  const agreed = readU64(v[4]!);
  if (orderId === null || amount === null || currency === null || time === null || agreed !== amount) return null;
  return { orderId, amount, currency, time };
}

/** PAY: 80 50 00 00, Le 00. */
export async function pay(cmd: CommandApdu, ctx: AppletContext): Promise<Reply> {
  if (p1p2(cmd) !== 0x0000) return status(SW.INCORRECT_P1P2);
  const { purse, keyPair, cardId } = ctx.state;
  if (purse.currency === null || keyPair === null) return status(SW.CONDITIONS_NOT_SATISFIED);
  if (!ctx.session.released) return status(SW.SECURITY_STATUS_NOT_SATISFIED);
  const market = ctx.session.verifiedMarket?.dnsNames[0];
  if (market === undefined) return status(SW.CONDITIONS_NOT_SATISFIED);

  const p = parsePaymentData(cmd.data);
  if (p === null || p.currency !== purse.currency) return status(SW.WRONG_DATA);
  const key = orderKey(market, p.orderId);
  if (purse.paidOrders.some((k) => k.equals(key))) {
    ctx.logger.info({ market }, 'PAY for an order already decided; refused');
    return status(SW.ALREADY_EXISTS);
  }
  if (purse.lastTime - p.time > MAX_ROLLBACK_SECONDS) {
    ctx.logger.info({ time: p.time, lastTime: purse.lastTime }, 'PAY time rolled back; refused');
    return status(SW.WRONG_DATA);
  }
  const day = Math.floor(p.time / SECONDS_PER_DAY);
  const spent = day > purse.day ? 0n : purse.spentToday;
  if (p.amount === 0n || p.amount > purse.perPaymentLimit || spent + p.amount > purse.dailyLimit) {
    return status(SW.LIMIT_EXCEEDED);
  }
  if (p.amount > purse.balance) return status(SW.INSUFFICIENT_FUNDS);
  const seq = nextCounter(purse);
  if (seq === null) return status(SW.CONDITIONS_NOT_SATISFIED);

  const record = signRecord(keyPair, cardId, { seq, market, ...p, status: RecordStatus.Paid });
  await ctx.commit({
    ...ctx.state,
    purse: {
      ...purse,
      balance: purse.balance - p.amount,
      day: Math.max(day, purse.day),
      spentToday: spent + p.amount,
      counter: seq,
      lastTime: Math.max(p.time, purse.lastTime),
      log: appendRecord(purse.log, record),
      paidOrders: appendOrderKey(purse.paidOrders, key),
    },
  });
  clearRelease(ctx.session);
  ctx.logger.info({ seq, market }, 'Payment recorded');
  return ok(encodeSignedRecord(cardId, record));
}
