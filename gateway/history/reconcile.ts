/**
 * Reconciles the card's decision log with the gateway's archive.
 *
 * The card is authoritative for money (docs/ARCHITECTURE.md, state and
 * durability; PROTOCOL.md, "Purse"): where the card and the archive disagree
 * about a decision the card holds, the card wins. The archive is
 * authoritative only for what the card no longer holds: the log keeps the
 * last 32 decisions, oldest dropped first, so an archived entry missing from
 * the card has rolled off and is kept, never deleted.
 *
 * `reconcile` is pure: it plans; `reconcileWithCard` applies the plan to a
 * store. Applying is idempotent, so a crash half-way is repaired by running
 * it again.
 */
import { historyKey, type DecisionStatus, type HistoryEntry, type HistoryKey, type HistoryPatch } from './history-entry.js';
import { HistoryError } from './history-error.js';
import type { HistoryStore } from './history-store.js';

/** One record of the card's decision log, as READ RECORD returns it, decoded. */
export interface CardLogRecord {
  /** DF57, hex. */
  cardId: string;
  /** DF50: the transaction counter value the decision was made at. */
  seq: number;
  /** DF51. */
  market: string;
  /** DF52. */
  orderId: string;
  /** DF53, minor units (a bigint must be a safe integer). */
  amount: number | bigint;
  /** DF54. */
  currency: string;
  /** DF55: a Date, ISO 8601, or Unix seconds as the card stores them. */
  time: Date | string | number;
  /** DF56. */
  status: DecisionStatus;
  /** Base64 of the signed record (`E1` ‖ `DF5E`); after a CANCEL the card's re-signed one. */
  signedRecord: string;
}

export interface ReconcilePlan {
  /** Decisions the archive lacks, and a 'cancel' for each cancelled decision that has none. */
  toAppend: HistoryEntry[];
  /** Archived decisions whose status or signed record differ from the card's. */
  toUpdate: Array<{ key: HistoryKey; patch: HistoryPatch }>;
}

function isoTime(time: Date | string | number): string {
  const date = typeof time === 'number' ? new Date(time * 1000) : new Date(time);
  if (Number.isNaN(date.getTime())) throw new HistoryError('invalid', 'A card record has no valid time', { time: String(time) });
  return date.toISOString();
}

function minorUnits(amount: number | bigint): number {
  const value = Number(amount);
  if (!Number.isSafeInteger(value)) throw new HistoryError('invalid', 'A card record amount is not a safe integer', { amount: String(amount) });
  return value;
}

/**
 * Plans what the archive needs so that it holds everything in `cardLog`:
 * `archived` may be the whole archive or only its entries for these records.
 * A 'cancel' found this way is stamped with `now` (the card does not record
 * when a cancel happened) and keyed by the cancelled decision's seq.
 */
export function reconcile(cardLog: readonly CardLogRecord[], archived: readonly HistoryEntry[], now: Date = new Date()): ReconcilePlan {
  const archivedAt = now.toISOString();
  const known = new Map<string, HistoryEntry>(archived.map((e) => [historyKey(e), e]));
  const plan: ReconcilePlan = { toAppend: [], toUpdate: [] };
  for (const record of cardLog) {
    const decision: HistoryEntry = {
      kind: 'decision',
      cardId: record.cardId,
      seq: record.seq,
      market: record.market,
      orderId: record.orderId,
      amount: minorUnits(record.amount),
      currency: record.currency,
      time: isoTime(record.time),
      status: record.status,
      signedRecord: record.signedRecord,
      archivedAt,
    };
    const key = historyKey(decision);
    const have = known.get(key);
    if (!have) {
      plan.toAppend.push(decision);
    } else {
      const patch: HistoryPatch = {};
      if (have.status !== record.status) patch.status = record.status;
      if (have.signedRecord !== record.signedRecord) patch.signedRecord = record.signedRecord;
      if (Object.keys(patch).length > 0) plan.toUpdate.push({ key, patch });
    }
    known.set(key, { ...decision, ...have, status: record.status, signedRecord: record.signedRecord });

    const cancel: HistoryEntry = {
      ...decision,
      kind: 'cancel',
      time: archivedAt,
      ...(have?.terminalId === undefined ? {} : { terminalId: have.terminalId }),
    };
    delete cancel.status;
    if (record.status === 'cancelled' && !known.has(historyKey(cancel))) {
      plan.toAppend.push(cancel);
      known.set(historyKey(cancel), cancel);
    }
  }
  return plan;
}

/**
 * Reads the archive's entries for the card's records (a bounded number of
 * lookups, never the whole history), plans with `reconcile` and applies the
 * plan. Resolves to the plan that was applied.
 */
export async function reconcileWithCard(store: HistoryStore, cardLog: readonly CardLogRecord[], now: Date = new Date()): Promise<ReconcilePlan> {
  const archived: HistoryEntry[] = [];
  for (const record of cardLog) {
    for (const kind of ['decision', 'cancel'] as const) {
      const entry = await store.get(historyKey({ cardId: record.cardId, kind, seq: record.seq }));
      if (entry) archived.push(entry);
    }
  }
  const plan = reconcile(cardLog, archived, now);
  for (const { key, patch } of plan.toUpdate) await store.update(key, patch);
  for (const entry of plan.toAppend) await store.append(entry);
  return plan;
}
