/**
 * Reconciliation with the card's decision log, at start and whenever a card
 * is inserted: records the gateway never archived (it died right after the
 * card's PAY) are archived and mailed, using the payment-intent journal to
 * find the terminal; cancels seen on the card are propagated.
 */
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import type { Logger } from '../../card-io/log.js';
import type { CardService } from '../card/card-service.js';
import { reconcileWithCard, type CardLogRecord, type HistoryStore } from '../history/index.js';
import type { Registry } from '../registry/index.js';
import { createNotification } from '../notify/notification.js';
import type { Mailer } from './emoney-manager.js';
import { recordFields } from './emoney-manager.js';
import type { PaymentIntents } from './payment-intents.js';

export async function readCardLog(card: HomeCard): Promise<CardLogRecord[]> {
  const seqs = await card.logSeqs();
  const out: CardLogRecord[] = [];
  for (let n = 1; n <= seqs.length; n++) {
    const r = await card.readRecord(n);
    out.push({ ...recordFields(r), signedRecord: r.bytes.toString('base64') });
  }
  return out;
}

export async function reconcileCard(o: { cards: CardService; history: HistoryStore; intents: PaymentIntents; registry: Registry; mailer: Mailer; logger: Logger }): Promise<number> {
  const log = await o.cards.exclusive(async (card) => {
    const status = await card.purseStatus().catch(() => undefined);
    return status?.currency ? readCardLog(card) : [];
  });
  if (!log.length) return 0;
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
    await o.mailer.notify(
      createNotification({ type: 'decision', cardId: e.cardId, seq: e.seq, terminalId: terminal.id, mail: terminal.mail, record: { seq: e.seq, cardId: e.cardId, market: e.market, orderId: e.orderId, amount: e.amount, currency: e.currency, time: e.time, status: e.status ?? 'paid' }, signedRecord: Buffer.from(e.signedRecord ?? '', 'base64'), cardCertificate: o.cards.certificate }),
    );
  }
  if (plan.toAppend.length || plan.toUpdate.length) o.logger.info({ appended: plan.toAppend.length, updated: plan.toUpdate.length }, 'history reconciled with the card');
  return plan.toAppend.length + plan.toUpdate.length;
}
