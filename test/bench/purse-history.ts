/**
 * History part of the purse benchmark, offline (no gateway): open the store
 * on a built archive, then count what ONE more payment's archive entry
 * costs on disk, with HistoryStore.bytesWritten (the partition and index
 * files the store rewrote) and, for comparison, /proc/self/io write_bytes
 * (the same writes as the kernel counts them: whole pages, plus the
 * temp-file and directory metadata).
 *
 * Two appends per archive:
 * - `midMonth`: the next decision of the card in use, now: it lands in the
 *   current month's partition, which already holds the month's activity so
 *   far (the layout is in purse-archive.ts) — the typical payment;
 * - `firstOfNextMonth`: a decision dated the first second of next month:
 *   a new, one-entry partition, so the index's share is seen alone.
 */
import { join } from 'node:path';
import { silentLogger } from '../../card-io/log.js';
import { monthOf } from '../../gateway/history/history-entry.js';
import { HistoryStore } from '../../gateway/history/history-store.js';
import type { SeededRandom } from '../helpers/seeded-random.js';
import { paymentEntry, type BuiltArchive } from './purse-archive.js';
import { fileBytes, msBetween, readWriteBytes } from './purse-io.js';

export interface AppendCost {
  outcome: string;
  month: string;
  /** HistoryStore.bytesWritten after minus before. */
  storeBytesWritten: number;
  /** Of which the month's partition file (its size after the write) and the index file (the rest; 0 when not rewritten). */
  partitionFileBytes: number;
  indexFileBytes: number;
  /** /proc/self/io write_bytes delta around the append; null without /proc. */
  kernelWriteBytes: number | null;
  appendMs: number;
}

export interface HistoryAppendResult {
  archivedRecords: number;
  months: number;
  oldestMonth: string;
  currentMonthRecords: number;
  cards: number;
  archiveBuildMs: number;
  /** HistoryStore.open on the archive, index rebuilt from the partitions (every entry validated). */
  openMs: number;
  indexRebuiltBytes: number;
  midMonth: AppendCost;
  firstOfNextMonth: AppendCost;
}

async function appendOnce(store: HistoryStore, entry: Parameters<HistoryStore['append']>[0]): Promise<AppendCost> {
  const month = monthOf(entry.time);
  const before = store.bytesWritten;
  const io0 = readWriteBytes();
  const t0 = process.hrtime.bigint();
  const outcome = await store.append(entry);
  const t1 = process.hrtime.bigint();
  const io1 = readWriteBytes();
  const storeBytesWritten = store.bytesWritten - before;
  const partitionFileBytes = (await fileBytes(join(store.dir, `${month}.json`))) ?? 0;
  return {
    outcome,
    month,
    storeBytesWritten,
    partitionFileBytes,
    indexFileBytes: storeBytesWritten - partitionFileBytes,
    kernelWriteBytes: io0 === null || io1 === null ? null : io1 - io0,
    appendMs: Number(msBetween(t0, t1).toFixed(3)),
  };
}

export async function measureHistoryAppend(archive: BuiltArchive, random: SeededRandom, terminalId: string, now: Date): Promise<HistoryAppendResult> {
  const t0 = process.hrtime.bigint();
  const store = await HistoryStore.open({ dir: archive.dir, logger: silentLogger });
  const openMs = msBetween(t0, process.hrtime.bigint());
  const indexRebuiltBytes = store.bytesWritten;
  const midMonth = await appendOnce(store, paymentEntry(random, archive.next, terminalId, now));
  const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  const firstOfNextMonth = await appendOnce(store, paymentEntry(random, { cardId: archive.next.cardId, seq: archive.next.seq + 1 }, terminalId, nextMonth));
  if (midMonth.outcome !== 'appended' || firstOfNextMonth.outcome !== 'appended') throw new Error(`the simulated payment was not appended (${midMonth.outcome}, ${firstOfNextMonth.outcome})`);
  return {
    archivedRecords: archive.records,
    months: archive.months,
    oldestMonth: archive.oldestMonth,
    currentMonthRecords: archive.currentMonthRecords,
    cards: archive.cardIds.length,
    archiveBuildMs: Number(archive.buildMs.toFixed(1)),
    openMs: Number(openMs.toFixed(1)),
    indexRebuiltBytes,
    midMonth,
    firstOfNextMonth,
  };
}
