/**
 * A payment decision's mail, kept by its archive entry (docs/PERFORMANCE.md,
 * "Writes per payment"): the entry says `mailed: false` until every channel
 * acknowledged the mail, and the outbox holds the mail in memory only
 * (outbox.ts, `kept`), so a payment writes its intent and one page of the
 * month's log, not a third file. What a crash or a stop left unmailed is
 * queued again from the archive (`mailUnmailed`, at start and on each card
 * insertion, after the reconciliation).
 */
import type { Logger } from '../../card-io/base/log.js';
import type { HistoryEntry, HistoryStore } from '../history/index.js';
import { createNotification, type DecisionRecordFields, type Notification } from '../notify/notification.js';
import type { EnqueueOptions, KeptNotification } from '../notify/outbox.js';
import type { Registry } from '../registry/index.js';

export interface Mailer {
  notify(n: Notification, options?: EnqueueOptions): Promise<void>;
}

type DecisionKey = `${string}:decision:${number}`;

/** The decision's mail (id `<cardId>:decision:<seq>`, the same as its archive key). */
export function decisionMail(record: DecisionRecordFields, signedRecord: Buffer, to: { id: string; mail: string }, cardCertificate: Buffer | undefined) {
  return createNotification({
    type: 'decision',
    cardId: record.cardId,
    seq: record.seq,
    terminalId: to.id,
    mail: to.mail,
    record,
    signedRecord,
    cardCertificate,
  });
}

/** Where a decision's mail is kept: its archive entry, marked mailed once every channel acknowledged it. */
export function keptByArchive(history: HistoryStore, key: DecisionKey): KeptNotification {
  return { delivered: async () => void (await history.update(key, { mailed: true })) };
}

/**
 * Queues again the mail of every decision the archive keeps unmailed (the
 * outbox drops what it already holds). Resolves to the number queued.
 */
export async function mailUnmailed(o: {
  history: HistoryStore;
  registry: Registry;
  mailer: Mailer;
  cardCertificate: Buffer | undefined;
  logger: Logger;
}): Promise<number> {
  let queued = 0;
  for (const e of await o.history.listUnmailed()) {
    const terminal = e.terminalId ? o.registry.getTerminal(e.terminalId) : undefined;
    const record = recordOf(e);
    if (!terminal || !record || !e.signedRecord) {
      o.logger.warn({ seq: e.seq }, 'an archived decision without a registered terminal or its signed record: its mail is not sent');
      continue;
    }
    const n = decisionMail(record, Buffer.from(e.signedRecord, 'base64'), terminal, o.cardCertificate);
    await o.mailer.notify(n, { kept: keptByArchive(o.history, `${e.cardId}:decision:${e.seq}`) });
    queued++;
  }
  return queued;
}

function recordOf(e: HistoryEntry): DecisionRecordFields | undefined {
  if (!e.market || !e.orderId) return undefined;
  const { seq, cardId, market, orderId, amount, currency, time } = e;
  return { seq, cardId, market, orderId, amount, currency, time, status: e.status ?? 'paid' };
}
