/**
 * One month of history: `<dir>/<YYYY-MM>.jsonl`, an append-only record log
 * (card-io/base/durable/record-log.ts). A new entry is appended as `{ put }`; a
 * change to an archived entry (cancelled, presented, re-signed) as its own
 * `{ key, patch }` record, never a rewrite. So a change costs the bytes of
 * its record, whatever the size of the month or of the history.
 *
 * A change is written first; only once it is durable does it become what
 * reads see, so a failed write changes nothing, in memory or on disk.
 *
 * Months written by earlier versions (`<YYYY-MM>.json`, one JSON document)
 * are converted once at open (see `migrateLegacyMonth`).
 */
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { fsyncDirectory } from '../../card-io/base/durable/atomic-file.js';
import { isRecordLogError, RecordLog, scanRecordLog } from '../../card-io/base/durable/record-log.js';
import type { Logger } from '../../card-io/base/log.js';
import { checkPatch, historyKey, monthOf, parseEntries, parseEntry, type HistoryEntry, type HistoryPatch } from './history-entry.js';
import { HistoryError } from './history-error.js';

export const MONTH_LOG = /^(\d{4}-\d{2})\.jsonl$/;
/** The one-document month file of earlier versions. */
export const LEGACY_MONTH_FILE = /^(\d{4}-\d{2})\.json$/;

export type PartitionRecord = { put: HistoryEntry } | { key: string; patch: HistoryPatch };

export interface FileOptions {
  logger: Logger;
  /** Fault-injection seam for tests, passed to the index's FsyncJsonFile. Default fs.rename. */
  rename?: (from: string, to: string) => Promise<void>;
}

/** A payment's month records (entry and marks) take about 750 bytes: a page with less left is filled once its entry is settled. */
const FILL_PAGE_BELOW = 1024;

const PATCH_FIELDS = ['status', 'signedRecord', 'presented', 'terminalId', 'marketRefused', 'mailed'] as const;

// Built once: building a zod schema costs far more than using it.
const recordShape = z.union([z.strictObject({ put: z.unknown() }), z.strictObject({ key: z.string(), patch: z.record(z.string(), z.unknown()) })]);

function parseRecord(value: unknown): PartitionRecord {
  const shape = recordShape.parse(value);
  if ('put' in shape) return { put: parseEntry(shape.put) };
  return { key: shape.key, patch: checkPatch(shape.patch as HistoryPatch) };
}

export function monthLogPath(dir: string, month: string): string {
  return join(dir, `${month}.jsonl`);
}

export class Partition {
  readonly month: string;
  readonly path: string;
  readonly #log: RecordLog<PartitionRecord>;
  readonly #entries: Map<string, HistoryEntry>;
  /** Records in the file (puts and patches): compaction folds the patches away when they dominate. */
  #records: number;

  private constructor(month: string, path: string, log: RecordLog<PartitionRecord>, entries: Map<string, HistoryEntry>, records: number) {
    this.month = month;
    this.path = path;
    this.#log = log;
    this.#entries = entries;
    this.#records = records;
  }

  /**
   * Reads and checks the month's log (an absent file is an empty month),
   * cutting a torn last record. HistoryError('corrupt') with the path if any
   * other record is damaged, or the records do not fold into a month.
   */
  static async load(dir: string, month: string, options: FileOptions): Promise<Partition> {
    const path = monthLogPath(dir, month);
    let opened;
    try {
      opened = await RecordLog.open(path, { parse: parseRecord });
    } catch (e) {
      if (!isRecordLogError(e)) throw e;
      throw new HistoryError('corrupt', `History month ${month} is damaged`, { path, ...e.context });
    }
    if (opened.repairedTailBytes > 0) {
      options.logger.warn({ path, bytes: opened.repairedTailBytes }, 'Cut a torn last record (an interrupted append); every earlier record is kept');
    }
    const entries = new Map<string, HistoryEntry>();
    opened.records.forEach((record, i) => {
      const fail = (why: string) => new HistoryError('corrupt', `History month ${month} is damaged`, { path, line: i + 1, why });
      if ('put' in record) {
        if (monthOf(record.put.time) !== month) throw fail('an entry of another month');
        entries.set(historyKey(record.put), record.put);
      } else {
        const existing = entries.get(record.key);
        if (!existing) throw fail('a change to an entry the month does not hold');
        entries.set(record.key, { ...existing, ...record.patch });
      }
    });
    return new Partition(month, path, opened.log, entries, opened.records.length);
  }

  /** False for a month with no file yet. */
  get exists(): boolean {
    return this.#log.exists;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** A copy, or undefined. */
  get(key: string): HistoryEntry | undefined {
    const entry = this.#entries.get(key);
    return entry && { ...entry };
  }

  /** Copies of all entries, in archive order. */
  entries(): HistoryEntry[] {
    return [...this.#entries.values()].map((e) => ({ ...e }));
  }

  /** True when the file is still what this partition read or wrote (one stat). */
  unchanged(): Promise<boolean> {
    return this.#log.unchanged();
  }

  /**
   * Adds the entry (a `put` record) or, for an archived key, appends the
   * changed fields as a `patch` record. Resolves to the bytes written.
   * `groupCommit`: durable within the record log's group bound rather than
   * before this resolves (record-log.ts), for an entry the card's log can
   * restore (HistoryStore.append).
   */
  async put(entry: HistoryEntry, options: { groupCommit?: boolean } = {}): Promise<number> {
    if (monthOf(entry.time) !== this.month) throw new Error(`entry of ${monthOf(entry.time)} put into ${this.month}`);
    const key = historyKey(entry);
    const existing = this.#entries.get(key);
    let record: PartitionRecord;
    if (!existing) {
      record = { put: { ...entry } };
    } else {
      const patch: Record<string, unknown> = {};
      for (const field of PATCH_FIELDS) if (entry[field] !== existing[field]) patch[field] = entry[field];
      const others = (Object.keys({ ...existing, ...entry }) as Array<keyof HistoryEntry>).filter(
        (f) => !(PATCH_FIELDS as readonly string[]).includes(f) && entry[f] !== existing[f],
      );
      if (others.length > 0) {
        const message = 'Only status, signedRecord, presented, terminalId, marketRefused and mailed of an archived entry change';
        throw new HistoryError('invalid', message, { key, fields: others });
      }
      if (Object.keys(patch).length === 0) return 0;
      record = { key, patch: patch as HistoryPatch };
    }
    let bytes: number;
    // A presentation or mail mark alone is not fdatasynced: a power cut that loses it makes the presenter
    // present the decision again, which the market acknowledges as the same decision (PAYMENTS.md), or
    // sends the mail again with the same id, which receivers drop. It reaches the disk with the month's
    // next synced or group commit (usually the entry's own, within the second) or the kernel's
    // writeback; a crash of the process keeps it.
    const markOnly = 'patch' in record && Object.entries(record.patch).every(([f, v]) => (f === 'presented' || f === 'mailed') && v === true);
    const sync = markOnly ? false : options.groupCommit ? 'group' : true;
    // The last change a payment makes to its entry (presented or refused, and mailed, in either order): the month's
    // page is dirty now, and a payment's records (about 750 bytes) should not straddle the next two (record-log.ts).
    const merged = { ...(existing ?? {}), ...entry };
    const settled = 'patch' in record && merged.mailed !== false && (merged.presented === true || merged.marketRefused !== undefined);
    const fill = settled ? { fillPageBelow: FILL_PAGE_BELOW, filler: { key, patch: {} } } : {};
    try {
      bytes = await this.#log.append(record, { sync, ...fill });
    } catch (e) {
      if (!isRecordLogError(e)) throw e;
      throw new HistoryError('corrupt', `History month ${this.month} changed behind the archive`, { ...e.context });
    }
    this.#entries.set(key, { ...(existing ?? {}), ...entry });
    this.#records += 1;
    if (this.#records > 64 && this.#records > 4 * this.#entries.size) return bytes + (await this.compact());
    return bytes;
  }

  /** Rewrites the month as one `put` per entry (atomic replace). Resolves to the bytes written. */
  async compact(): Promise<number> {
    const bytes = await this.#log.compact([...this.#entries.values()].map((put) => ({ put })));
    this.#records = this.#entries.size;
    return bytes;
  }
}

/**
 * Checks a month's log without changing it: 'torn' when only an incomplete
 * last record is wrong (open cuts it), 'corrupt' when any other record is
 * damaged or the records do not fold into the month. For `homegate doctor`.
 */
export async function inspectMonth(path: string, month: string): Promise<{ status: 'ok' | 'torn' | 'corrupt'; line?: number; entries: number }> {
  const scan = await scanRecordLog(path);
  if (scan.corruptLine !== undefined) return { status: 'corrupt', line: scan.corruptLine, entries: 0 };
  const keys = new Set<string>();
  for (const [i, value] of scan.records.entries()) {
    let record: PartitionRecord;
    try {
      record = parseRecord(value);
    } catch {
      return { status: 'corrupt', line: i + 1, entries: 0 };
    }
    if ('put' in record ? monthOf(record.put.time) !== month : !keys.has(record.key)) return { status: 'corrupt', line: i + 1, entries: 0 };
    if ('put' in record) keys.add(historyKey(record.put));
  }
  return { status: scan.tornBytes > 0 ? 'torn' : 'ok', entries: keys.size };
}

/**
 * What can still be read from a damaged month: the sound records (with
 * `all`, also those after the damage), folded, those that do not fold
 * skipped. For serving reads of a damaged month and for `homegate doctor`;
 * never a basis for writes.
 */
export async function salvageMonth(path: string, month: string, all = false): Promise<HistoryEntry[]> {
  const scan = await scanRecordLog(path);
  const entries = new Map<string, HistoryEntry>();
  for (const value of all ? [...scan.records, ...scan.salvaged] : scan.records) {
    let record: PartitionRecord;
    try {
      record = parseRecord(value);
    } catch {
      continue;
    }
    if ('put' in record) {
      if (monthOf(record.put.time) === month) entries.set(historyKey(record.put), record.put);
    } else {
      const existing = entries.get(record.key);
      if (existing) entries.set(record.key, { ...existing, ...record.patch });
    }
  }
  return [...entries.values()];
}

/**
 * Converts `<month>.json` of an earlier version into `<month>.jsonl`
 * (written atomically), then removes the old file. A crash in between leaves
 * both; the log, complete by construction, wins at the next open.
 */
export async function migrateLegacyMonth(dir: string, month: string, haveLog: boolean, logger: Logger): Promise<void> {
  const legacy = join(dir, `${month}.json`);
  if (!haveLog) {
    let entries: HistoryEntry[];
    try {
      const data = z.object({ version: z.literal(1), month: z.literal(month), entries: z.unknown() }).parse(JSON.parse(await readFile(legacy, 'utf8')));
      entries = parseEntries(data.entries);
    } catch (e) {
      throw new HistoryError('corrupt', `History month ${month} is damaged`, { path: legacy }, { cause: e });
    }
    const { log } = await RecordLog.open<PartitionRecord>(monthLogPath(dir, month));
    await log.compact(entries.map((put) => ({ put })));
    logger.info({ month, entries: entries.length }, 'Converted a history month to the append-only format');
  }
  await unlink(legacy);
  await fsyncDirectory(dir);
}
