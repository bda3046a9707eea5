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
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../card-io/base/log.js';
import { monthOf, type NewHistoryEntry } from '../../gateway/history/history-entry.js';
import { createNotification } from '../../gateway/notify/notification.js';
import { Outbox } from '../../gateway/notify/outbox.js';
import { HistoryStore } from '../../gateway/history/history-store.js';
import { PaymentIntents } from '../../gateway/emoney/payment-intents.js';
import type { SeededRandom } from '../helpers/seeded-random.js';
import { paymentEntry, type BuiltArchive } from './purse-archive.js';
import { fileBytes, msBetween, readWriteBytes } from './purse-io.js';

export interface AppendCost {
  outcome: string;
  month: string;
  /** HistoryStore.bytesWritten after minus before. */
  storeBytesWritten: number;
  /** The month's log file size after the write (context: what a rewrite would cost), and the index file's (rewritten only when a month starts). */
  monthFileBytes: number;
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
  /** HistoryStore.open on the archive: every month read and checked, the index rebuilt. */
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
  return {
    outcome,
    month,
    storeBytesWritten,
    monthFileBytes: (await fileBytes(join(store.dir, `${month}.jsonl`))) ?? 0,
    indexFileBytes: (await fileBytes(join(store.dir, 'index.json'))) ?? 0,
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
  if (midMonth.outcome !== 'appended' || firstOfNextMonth.outcome !== 'appended')
    throw new Error(`the simulated payment was not appended (${midMonth.outcome}, ${firstOfNextMonth.outcome})`);
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

export interface MonthOfPaymentsResult {
  payments: number;
  /** /proc/self/io write_bytes per payment (every durable write of the gateway for it), median over each slice of the month. */
  kernelBytesPerPayment: { first1000: number | null; last1000: number | null; all: number | null; mean: number | null };
  /** The same for one more payment dated the first second of the next month (a new month file and the index). */
  firstOfNextMonthKernelBytes: number | null;
  /** HistoryStore.bytesWritten per payment over the month. */
  storeBytesPerPayment: number;
  monthFileBytesAtEnd: number;
  ms: number;
}

/** The gateway's durable files for offline payments: history, payment intents, outbox (as start-purse.ts lays them out). */
export interface GatewayFiles {
  store: HistoryStore;
  intents: PaymentIntents;
  outbox: Outbox;
}

/**
 * One payment's durable writes, as the gateway makes them (emoney-manager.ts,
 * outbox.ts), without the card and the network: the intent journaled
 * (fsynced, before the card), the decision archived (group-committed, with
 * `mailed: false`: the entry keeps its mail) and its mail queued in the
 * outbox's memory (`kept`), the decision marked presented, the mail marked
 * done on MQTT (which marks the entry mailed). With `mailIn: 'outbox'`, as
 * before the archive kept mails: the mail group-committed in the outbox log
 * and its `done` there. Resolves to /proc/self/io write_bytes around them, or null.
 */
export async function offlinePayment(
  files: GatewayFiles,
  entry: NewHistoryEntry,
  terminalId: string,
  mailIn: 'archive' | 'outbox' = 'archive',
): Promise<number | null> {
  const io0 = readWriteBytes();
  await files.intents.record({ terminalId, mail: 'bench@example.org', market: entry.market!, orderId: entry.orderId! });
  const kept = mailIn === 'archive' ? { mailed: false } : {};
  if ((await files.store.append({ ...entry, ...kept }, { groupCommit: true })) !== 'appended') throw new Error('a simulated payment was not appended');
  const mail = createNotification({
    type: 'decision',
    cardId: entry.cardId,
    seq: entry.seq,
    terminalId,
    mail: 'bench@example.org',
    record: {
      seq: entry.seq,
      cardId: entry.cardId,
      market: entry.market!,
      orderId: entry.orderId!,
      amount: entry.amount,
      currency: entry.currency,
      time: entry.time,
      status: 'paid',
    },
    signedRecord: Buffer.from(entry.signedRecord ?? '', 'base64'),
    cardCertificate: BENCH_CARD_CERTIFICATE,
  });
  const key = `${entry.cardId}:decision:${entry.seq}`;
  // The baseline ('outbox', as before the archive kept mails): the mail's own group-committed record in the outbox log.
  const delivered = async () => void (await files.store.update(key, { mailed: true }));
  await files.outbox.enqueue(mail, ['mqtt'], mailIn === 'archive' ? { kept: { delivered } } : { groupCommit: true });
  await files.store.update(key, { presented: true });
  await files.outbox.markDone(mail.id, 'mqtt');
  const io1 = readWriteBytes();
  return io0 === null || io1 === null ? null : io1 - io0;
}

/** Stands for the card certificate a real notification carries (DER, the sandbox card's is ~500 bytes). */
export const BENCH_CARD_CERTIFICATE = Buffer.alloc(500, 0x30);

/**
 * A month's activity through every durable file a payment touches, offline
 * (offlinePayment), `payments` times in the current month on top of
 * `archive`, then one payment at the start of the next month. Shows whether
 * the cost per payment grows as the month fills, and what a month's first
 * payment adds.
 */
export async function measureMonthOfPayments(
  archive: BuiltArchive,
  random: SeededRandom,
  terminalId: string,
  now: Date,
  payments: number,
  workDir: string,
): Promise<MonthOfPaymentsResult> {
  const store = await HistoryStore.open({ dir: archive.dir, logger: silentLogger });
  await mkdir(workDir, { recursive: true });
  const files: GatewayFiles = {
    store,
    intents: new PaymentIntents(join(workDir, 'payment-intents.jsonl')),
    outbox: await Outbox.open({ dataDir: workDir }),
  };
  const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const kernel: number[] = [];
  const before = store.bytesWritten;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < payments; i++) {
    // Spread over the month's first 27 days, in time order.
    const at = new Date(monthStart + Math.floor((i * 27 * 86_400_000) / payments));
    const bytes = await offlinePayment(
      files,
      paymentEntry(random, { cardId: archive.next.cardId, seq: archive.next.seq + 10 + i }, terminalId, at),
      terminalId,
    );
    if (bytes !== null) kernel.push(bytes);
  }
  const ms = msBetween(t0, process.hrtime.bigint());
  const storeBytesPerPayment = Math.round((store.bytesWritten - before) / payments);
  const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  const firstOfNextMonthKernelBytes = await offlinePayment(
    files,
    paymentEntry(random, { cardId: archive.next.cardId, seq: archive.next.seq + 10 + payments }, terminalId, nextMonth),
    terminalId,
  );
  const median = (xs: number[]) => (xs.length === 0 ? null : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
  return {
    payments,
    kernelBytesPerPayment: {
      first1000: median(kernel.slice(0, 1000)),
      last1000: median(kernel.slice(-1000)),
      all: median(kernel),
      mean: kernel.length === 0 ? null : Math.round(kernel.reduce((a, b) => a + b, 0) / kernel.length),
    },
    firstOfNextMonthKernelBytes,
    storeBytesPerPayment,
    monthFileBytesAtEnd: (await fileBytes(join(store.dir, `${monthOf(new Date(monthStart).toISOString())}.jsonl`))) ?? 0,
    ms: Number(ms.toFixed(0)),
  };
}
