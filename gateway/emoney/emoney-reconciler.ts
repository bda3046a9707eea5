/**
 * Reconciliation with the card's decision log, at start and whenever a card
 * is inserted: records the gateway never archived (it died right after the
 * card's PAY) are archived and mailed, using the payment-intent journal to
 * find the terminal; cancels seen on the card are propagated; every decision
 * and cancel the card holds is mailed; top-ups whose answer was lost are
 * settled from the card's latest load receipt (load-settlement.ts): archived,
 * mailed and committed at the issuer, or their reservation voided.
 */
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import type { Logger } from '../../card-io/base/log.js';
import type { CardService } from '../card/card-service.js';
import { reconcileWithCard, type CardLogRecord, type HistoryStore } from '../history/index.js';
import type { Registry } from '../registry/index.js';
import { createNotification } from '../notify/notification.js';
import type { Mailer } from './emoney-manager.js';
import { recordFields } from './emoney-manager.js';
import type { IssuerClient } from './issuer-client.js';
import { settleLoadsOnCard } from './load-settlement.js';
import type { LoadIntents, PaymentIntents } from './payment-intents.js';
import type { PurseStatus } from '../../card-io/home-card/commands/index.js';

export async function readCardLog(card: HomeCard): Promise<CardLogRecord[]> {
  const seqs = await card.logSeqs();
  const out: CardLogRecord[] = [];
  for (let n = 1; n <= seqs.length; n++) {
    const r = await card.readRecord(n);
    out.push({ ...recordFields(r), signedRecord: r.bytes.toString('base64') });
  }
  return out;
}

export async function reconcileCard(o: {
  cards: CardService;
  history: HistoryStore;
  intents: PaymentIntents;
  loads?: LoadIntents;
  issuer?: IssuerClient;
  registry: Registry;
  mailer: Mailer;
  logger: Logger;
}): Promise<number> {
  const { status, log, settled } = await o.cards.exclusive(async (card) => {
    const status = await card.purseStatus().catch(() => undefined);
    // Loads are settled with the card held, so no top-up's LOAD can be in flight while its receipt is looked for.
    const settled =
      status?.currency && o.cards.cardId
        ? await settleLoadsOnCard(
            card,
            o.cards.cardId,
            { history: o.history, loads: o.loads, mailer: o.mailer, issuer: o.issuer, cardCertificate: o.cards.certificate, logger: o.logger },
            new Date(),
          )
        : 0;
    return { status, settled, log: status?.currency ? await readCardLog(card) : [] };
  });
  const loads = settled + (status?.currency && o.loads ? await reconcileLoads({ ...o, loads: o.loads }, status, log) : 0);
  if (!log.length) return loads;
  const plan = await reconcileWithCard(o.history, log);
  for (const e of plan.toAppend) {
    if (e.kind !== 'decision' || !e.orderId || !e.market) continue;
    const intent = await o.intents.find(e.market, e.orderId);
    const terminal = intent && o.registry.getTerminal(intent.terminalId);
    if (!terminal) {
      o.logger.warn({ seq: e.seq, market: e.market }, 'card decision without a known terminal: archived, not mailed');
      continue;
    }
    await o.history.update(`${e.cardId}:decision:${e.seq}`, { terminalId: terminal.id, presented: false });
  }
  // Every decision and cancel the card holds is (re)queued for mail: the outbox drops an id it has queued or
  // delivered, so this only mails what a crash between the card's answer and the notification left unmailed.
  for (const r of log) {
    const decision = await o.history.get(`${r.cardId}:decision:${r.seq}`);
    const terminal = decision?.terminalId ? o.registry.getTerminal(decision.terminalId) : undefined;
    if (!terminal) continue;
    const record = {
      seq: r.seq,
      cardId: r.cardId,
      market: r.market,
      orderId: r.orderId,
      amount: Number(r.amount),
      currency: r.currency,
      time: new Date(r.time).toISOString(),
      status: r.status,
    };
    const event = { cardId: r.cardId, seq: r.seq, record, signedRecord: Buffer.from(r.signedRecord, 'base64'), cardCertificate: o.cards.certificate };
    // A decision whose mail its archive entry keeps (`mailed` set) is mailed by EmoneyManager.mailUnmailed, not from the outbox.
    if (decision?.mailed === undefined) await o.mailer.notify(createNotification({ type: 'decision', terminalId: terminal.id, mail: terminal.mail, ...event }));
    if (r.status !== 'cancelled') continue;
    const cancel = await o.history.get(`${r.cardId}:cancel:${r.seq}`);
    const canceller = (cancel?.terminalId && o.registry.getTerminal(cancel.terminalId)) || terminal;
    await o.mailer.notify(createNotification({ type: 'cancel', terminalId: canceller.id, mail: canceller.mail, ...event }));
    // The payer's copy, as EmoneyManager.cancel sends it when another terminal cancelled.
    if (canceller.id !== terminal.id && canceller.mail !== terminal.mail) {
      await o.mailer.notify(createNotification({ type: 'cancel', copy: 'payer', terminalId: terminal.id, mail: terminal.mail, ...event }));
    }
  }
  if (plan.toAppend.length || plan.toUpdate.length) {
    o.logger.info({ appended: plan.toAppend.length, updated: plan.toUpdate.length }, 'history reconciled with the card');
  }
  return plan.toAppend.length + plan.toUpdate.length + loads;
}

/**
 * Top-ups journaled by an older gateway (no challenge, no issuer reservation)
 * whose LOAD answer was lost: the card's counter and balance tell
 * whether the LOAD was done (it is the only command that could have made the
 * counter the journaled one with that balance; a PAY there leaves its record
 * in the log). Done: archived (without the receipt, which was lost) and
 * mailed. An archived one is mailed again in case the crash came before its
 * mail (the outbox drops it if it was).
 */
async function reconcileLoads(
  o: { cards: CardService; history: HistoryStore; loads: LoadIntents; mailer: Mailer; logger: Logger },
  status: PurseStatus,
  log: readonly CardLogRecord[],
): Promise<number> {
  let archived = 0;
  for (const i of await o.loads.pending()) {
    if (i.cardId !== o.cards.cardId || i.challenge !== undefined || i.receipt !== undefined) continue;
    const key = `${i.cardId}:load:${i.counter}`;
    let entry = await o.history.get(key);
    const paidThere = log.some((r) => r.seq === i.counter);
    if (!entry && !paidThere && status.counter === i.counter && Number(status.balance) === i.balance) {
      await o.history.append({ kind: 'load', cardId: i.cardId, seq: i.counter, amount: i.amount, currency: i.currency, time: i.at, terminalId: i.terminalId });
      entry = await o.history.get(key);
      archived++;
      o.logger.info({ counter: i.counter, amount: i.amount }, 'load found on the card after its answer was lost: archived');
    } else if (!entry && !paidThere && status.counter > i.counter) {
      o.logger.error(
        { counter: i.counter, amount: i.amount, cardCounter: status.counter },
        'cannot tell whether a top-up whose answer was lost was loaded; compare the card balance with the issuer account',
      );
    }
    if (entry) {
      const load = { cardId: i.cardId, counter: i.counter, amount: entry.amount, currency: entry.currency, newBalance: i.balance };
      const signedRecord = entry.signedRecord ? Buffer.from(entry.signedRecord, 'base64') : undefined;
      await o.mailer.notify(
        createNotification({
          type: 'topup',
          cardId: i.cardId,
          seq: i.counter,
          terminalId: i.terminalId,
          mail: i.mail,
          time: entry.time,
          load,
          balance: i.balance,
          ...(signedRecord ? { signedRecord, cardCertificate: o.cards.certificate } : {}),
        }),
      );
    }
    await o.loads.clear(i.cardId, i.counter);
  }
  return archived;
}
