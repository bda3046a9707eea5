/**
 * Payments at a household's pace, offline: every durable write a payment
 * makes (purse-history.ts, offlinePayment), with every page of every file it
 * touches made clean before the next one, as minutes between two payments
 * leave them (the kernel writes dirty pages back within 30 s,
 * vm.dirty_expire_centisecs). Then each file a payment touches costs at
 * least one 4 KiB page again: the figure the SD card wears by.
 *
 * The pages are made clean with one fdatasync per file (intents, the month's
 * history log, the outbox log) instead of waiting, so many payments fit in a
 * bench run; fdatasync on a clean file writes nothing, so a group commit the
 * record log still has pending adds nothing to the next payment's count.
 */
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../card-io/base/log.js';
import { monthOf } from '../../gateway/history/history-entry.js';
import { HistoryStore } from '../../gateway/history/history-store.js';
import { PaymentIntents } from '../../gateway/emoney/payment-intents.js';
import { OUTBOX_LOG } from '../../gateway/notify/outbox-log.js';
import { Outbox } from '../../gateway/notify/outbox.js';
import type { SeededRandom } from '../helpers/seeded-random.js';
import { paymentEntry, type BuiltArchive } from './purse-archive.js';
import { offlinePayment, type GatewayFiles } from './purse-history.js';
import { round } from './bench-stats.js';
import { summarizeValues, type ValueSummary } from './purse-io.js';

export interface HouseholdPaceResult {
  payments: number;
  /** /proc/self/io write_bytes per payment mid-month, every page clean before each; null without /proc. */
  midMonthKernelBytes: ValueSummary | null;
  /** The same payments in the same run with the mail in the outbox log, as before the archive kept it (the baseline). */
  baselineMidMonthKernelBytes: ValueSummary | null;
  /** midMonthKernelBytes.median / baselineMidMonthKernelBytes.median. */
  ratioToBaseline: number | null;
  /** The same for a payment dated the first second of a month no entry is in yet (a new month file and the history index). */
  firstOfNextMonthKernelBytes: number | null;
}

/** fdatasync of each file that exists: its dirty pages written, so the next write to any of them dirties a page again. */
async function cleanPages(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    const fh = await open(path, 'r').catch(() => undefined);
    if (!fh) continue;
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }
}

export async function measureHouseholdPace(
  archive: BuiltArchive,
  random: SeededRandom,
  terminalId: string,
  now: Date,
  payments: number,
  workDir: string,
): Promise<HouseholdPaceResult> {
  const store = await HistoryStore.open({ dir: archive.dir, logger: silentLogger });
  await mkdir(workDir, { recursive: true });
  const intentsPath = join(workDir, 'payment-intents.jsonl');
  const files: GatewayFiles = { store, intents: new PaymentIntents(intentsPath), outbox: await Outbox.open({ dataDir: workDir }) };
  const touched = (time: Date) => [intentsPath, join(workDir, 'outbox', OUTBOX_LOG), join(store.dir, `${monthOf(time.toISOString())}.jsonl`)];
  const kernel: number[] = [];
  // Mid-month: in the current month, after the archive's last entry, one payment a minute.
  const start = Math.max(now.getTime(), Date.parse(`${monthOf(now.toISOString())}-01T00:00:00Z`));
  let seq = archive.next.seq + 100_000;
  const baseline: number[] = [];
  // Interleaved, so both see the same month file and the same load on the machine.
  for (let i = 0; i < 2 * payments; i++) {
    const at = new Date(start + i * 60_000);
    await cleanPages(touched(at));
    const mailIn = i % 2 === 0 ? 'archive' : 'outbox';
    const bytes = await offlinePayment(files, paymentEntry(random, { cardId: archive.next.cardId, seq: seq++ }, terminalId, at), terminalId, mailIn);
    if (bytes !== null) (mailIn === 'archive' ? kernel : baseline).push(bytes);
  }
  // Two months ahead: the other measurements already write into the next month.
  const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 2, 1));
  await cleanPages([...touched(nextMonth), ...touched(new Date(start))]);
  const first = await offlinePayment(files, paymentEntry(random, { cardId: archive.next.cardId, seq: seq++ }, terminalId, nextMonth), terminalId);
  const mid = kernel.length ? summarizeValues(kernel, 0) : null;
  const base = baseline.length ? summarizeValues(baseline, 0) : null;
  return {
    payments,
    midMonthKernelBytes: mid,
    baselineMidMonthKernelBytes: base,
    ratioToBaseline: mid && base && base.median > 0 ? round(mid.median / base.median, 3) : null,
    firstOfNextMonthKernelBytes: first,
  };
}
