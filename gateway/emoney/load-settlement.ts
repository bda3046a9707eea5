/**
 * How a top-up ends, once and in one place, whether the manager saw the
 * card's answer or the reconciliation asks the card later: no issuer debit
 * without a load on the card, and no load on the card without its archive
 * entry, its mail and its issuer commit.
 *
 * - `loadRefusedByCard` is THE rule for a failed LOAD: only a refusal the
 *   card gives to LOAD as the driver builds it (PROTOCOL.md, LOAD) counts as
 *   "nothing happened". Anything else — a transport failure, an interrupted
 *   exchange, or a status word LOAD cannot answer (6700, 6D00, 6E00, …: the
 *   answer to some other command, e.g. the tail of a chain the card ran on its
 *   own) — leaves the outcome unknown; then the card's own record decides.
 * - `settleFromCard`: the card's latest load receipt (GET DATA DF43) carries
 *   the load's challenge if and only if the load was done.
 * - `completeLoad` archives, mails and commits a load whose receipt is known;
 *   `releaseLoad` voids a load the card does not hold. Both are idempotent
 *   (history key, outbox id, issuer reservation), so running one twice after
 *   a crash neither doubles nor loses anything.
 */
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import { parseLoadReceipt, type LoadReceipt } from '../../card-io/home-card/load-receipt.js';
import type { Logger } from '../../card-io/base/log.js';
import type { HistoryStore } from '../history/index.js';
import { createNotification } from '../notify/notification.js';
import { PeerError } from './https-json.js';
import type { IssuerClient } from './issuer-client.js';
import type { LoadIntent, LoadIntents } from './payment-intents.js';

export interface SettlementDeps {
  history: HistoryStore;
  /** Without a journal the manager still archives, mails and commits what it sees. */
  loads: LoadIntents | undefined;
  mailer: { notify(n: ReturnType<typeof createNotification>): Promise<void> };
  issuer: IssuerClient | undefined;
  cardCertificate: Buffer | undefined;
  logger: Logger;
}

/** The card's refusals of LOAD: 6982, 6985, 6A80, 6911 (PROTOCOL.md). They change nothing on the card. */
const LOAD_REFUSALS: ReadonlySet<number> = new Set([
  CardErrorCode.SecurityStatusNotSatisfied,
  CardErrorCode.ConditionsNotSatisfied,
  CardErrorCode.WrongData,
  CardErrorCode.LimitExceeded,
]);

/** True only when `e` is the card's refusal of the LOAD as sent; false: the outcome is unknown. */
export function loadRefusedByCard(e: unknown): boolean {
  return isCardError(e) && LOAD_REFUSALS.has(e.code);
}

/** Archive, mail and commit a load the card made; then forget its intent. Never throws for the issuer. */
export async function completeLoad(d: SettlementDeps, i: LoadIntent, receipt: LoadReceipt, time: Date): Promise<void> {
  const signedRecord = receipt.bytes.toString('base64');
  if (i.reservationId && i.receipt === undefined) {
    // The receipt is journaled first: from here on, a crash still leaves what the issuer commit needs.
    await d.loads?.record({ ...withoutAt(i), receipt: signedRecord });
  }
  await d.history.append({
    kind: 'load',
    cardId: receipt.cardId,
    seq: receipt.counter,
    amount: Number(receipt.amount),
    currency: receipt.currency,
    time: time.toISOString(),
    terminalId: i.terminalId,
    signedRecord,
  });
  const archived = await d.history.get(`${receipt.cardId}:load:${receipt.counter}`);
  const load = loadFields(receipt);
  await d.mailer.notify(
    createNotification({
      type: 'topup',
      cardId: receipt.cardId,
      seq: receipt.counter,
      terminalId: i.terminalId,
      mail: i.mail,
      time: new Date(archived?.time ?? time),
      load,
      balance: load.newBalance,
      signedRecord: receipt.bytes,
      ...(d.cardCertificate ? { cardCertificate: d.cardCertificate } : {}),
    }),
  );
  if (i.reservationId) {
    if (!d.issuer || !d.cardCertificate) return keep(d, i, 'no issuer or card certificate to commit the load with');
    try {
      await d.issuer.commitLoad(i.reservationId, receipt.bytes, d.cardCertificate);
    } catch (e) {
      if (retryable(e)) return keep(d, i, `issuer commit failed: ${(e as Error).message}`);
      // The issuer answered no for good (e.g. the reservation expired while the gateway was down): retrying cannot change it.
      d.logger.error(
        { counter: i.counter, amount: i.amount, reservation: i.reservationId, issuerCode: (e as PeerError).peerCode },
        'the issuer refused to commit a load the card made; settle it with the issuer',
      );
    }
  }
  await d.loads?.clear(i.cardId, i.counter);
}

/** Void the issuer reservation of a load the card does not hold; then forget its intent. Never throws for the issuer. */
export async function releaseLoad(d: SettlementDeps, i: LoadIntent): Promise<void> {
  if (i.reservationId) {
    if (!d.issuer) return keep(d, i, 'no issuer to void the reservation with');
    try {
      await d.issuer.voidLoad(i.reservationId);
    } catch (e) {
      if (retryable(e)) return keep(d, i, `issuer void failed: ${(e as Error).message}`);
      d.logger.error(
        { counter: i.counter, amount: i.amount, reservation: i.reservationId, issuerCode: (e as PeerError).peerCode },
        'the issuer refused to void a load the card does not hold; settle it with the issuer',
      );
    }
  }
  await d.loads?.clear(i.cardId, i.counter);
}

/**
 * Settle a journaled load from the card's latest load receipt (undefined: the
 * card has made no load). Only for intents no LOAD is in flight for: the card
 * was read while no top-up held it, and the intent was journaled before.
 */
export async function settleFromCard(d: SettlementDeps, i: LoadIntent, lastReceipt: LoadReceipt | undefined, now: Date): Promise<'loaded' | 'not-loaded'> {
  if (i.receipt !== undefined) {
    await completeLoad(d, i, parseLoadReceipt(Buffer.from(i.receipt, 'base64')), now);
    return 'loaded';
  }
  const challenge = Buffer.from(i.challenge ?? '', 'base64');
  if (lastReceipt && lastReceipt.cardId === i.cardId && lastReceipt.challenge.equals(challenge)) {
    d.logger.info({ counter: lastReceipt.counter, amount: i.amount }, 'load found on the card after its answer was lost');
    await completeLoad(d, i, lastReceipt, now);
    return 'loaded';
  }
  // A challenge is used once: a receipt without it means this LOAD never credited the card, and never will.
  d.logger.info({ counter: i.counter, amount: i.amount }, 'load not on the card: its issuer reservation is released');
  await releaseLoad(d, i);
  return 'not-loaded';
}

/**
 * Settle every journaled load of this card that no top-up is working on, from
 * the card's latest load receipt, read now with the card held. An intent
 * without a challenge (journaled by an older gateway) is left to the
 * reconciliation's counter check.
 */
export async function settleLoadsOnCard(card: HomeCard, cardId: string, d: SettlementDeps, now: Date): Promise<number> {
  const open = ((await d.loads?.pending()) ?? []).filter((i) => i.cardId === cardId && (i.challenge !== undefined || i.receipt !== undefined));
  if (!open.length) return 0;
  const lastReceipt = await card.lastLoadReceipt();
  for (const i of open) await settleFromCard(d, i, lastReceipt, now);
  return open.length;
}

function withoutAt(i: LoadIntent): Omit<LoadIntent, 'at'> {
  const { at: _at, ...rest } = i;
  return rest;
}

/** No answer, or a server error: the issuer may say yes later. A 4xx answer is final. */
function retryable(e: unknown): boolean {
  return !(e instanceof PeerError) || e.kind === 'unreachable' || (e.status ?? 500) >= 500;
}

function keep(d: SettlementDeps, i: LoadIntent, why: string): void {
  d.logger.warn({ counter: i.counter, amount: i.amount, reservation: i.reservationId }, `top-up kept for the next reconciliation: ${why}`);
}

/** A signed load receipt as the terminal API and the mail show it. */
export function loadFields(receipt: LoadReceipt) {
  return {
    cardId: receipt.cardId,
    counter: receipt.counter,
    amount: Number(receipt.amount),
    currency: receipt.currency,
    newBalance: Number(receipt.balance),
  };
}
