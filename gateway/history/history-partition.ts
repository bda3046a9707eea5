/**
 * One month of history: `<dir>/<YYYY-MM>.json`, a lowdb JSON file written
 * through FsyncJsonFile (temp file, fsync, rename, fsync of the directory).
 * A write replaces this one file only, so its cost is bounded by one month's
 * activity, never by the whole history (ARCHITECTURE.md, state and durability).
 *
 * A change works on a copy; only after the copy is durable does it become
 * what reads see, so a failed write changes nothing, in memory or on disk.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { z } from 'zod';
import type { Logger } from '../../card-io/log.js';
import { FsyncJsonFile } from '../registry/fsync-json-file.js';
import { isRegistryError } from '../registry/registry-error.js';
import { historyKey, monthOf, parseEntries, type HistoryEntry } from './history-entry.js';
import { HistoryError } from './history-error.js';

export const MONTH_FILE = /^(\d{4}-\d{2})\.json$/;

export interface PartitionData {
  version: 1;
  month: string;
  /** In archive order; `list` sorts. */
  entries: HistoryEntry[];
}

export interface FileOptions {
  logger: Logger;
  /** Fault-injection seam for tests, passed to FsyncJsonFile. Default fs.rename. */
  rename?: (from: string, to: string) => Promise<void>;
}

function parsePartition(month: string): (value: unknown) => PartitionData {
  return (value) => {
    const data = z.object({ version: z.literal(1), month: z.literal(month), entries: z.unknown() }).parse(value);
    const entries = parseEntries(data.entries);
    const keys = new Set(entries.map(historyKey));
    if (keys.size !== entries.length) throw new Error('duplicate keys');
    if (entries.some((e) => monthOf(e.time) !== month)) throw new Error('an entry of another month');
    return { version: 1, month, entries };
  };
}

export class Partition {
  readonly month: string;
  readonly path: string;
  readonly #db: Low<PartitionData>;
  #byKey = new Map<string, number>();

  private constructor(dir: string, month: string, options: FileOptions) {
    this.month = month;
    this.path = join(dir, `${month}.json`);
    const adapter = new FsyncJsonFile<PartitionData>(this.path, {
      parse: parsePartition(month),
      logger: options.logger,
      ...(options.rename ? { rename: options.rename } : {}),
    });
    this.#db = new Low<PartitionData>(adapter, { version: 1, month, entries: [] });
  }

  /** Reads the month's file (an absent file is an empty month); HistoryError('corrupt') if it is damaged. */
  static async load(dir: string, month: string, options: FileOptions): Promise<Partition> {
    const partition = new Partition(dir, month, options);
    try {
      await partition.#db.read();
    } catch (e) {
      if (!isRegistryError(e, 'corrupt')) throw e;
      throw new HistoryError('corrupt', `History partition ${month} is damaged`, { path: partition.path }, { cause: e });
    }
    partition.#reindex();
    return partition;
  }

  get size(): number {
    return this.#db.data.entries.length;
  }

  /** A copy, or undefined. */
  get(key: string): HistoryEntry | undefined {
    const i = this.#byKey.get(key);
    return i === undefined ? undefined : { ...this.#db.data.entries[i]! };
  }

  /** Copies of all entries, in archive order. */
  entries(): HistoryEntry[] {
    return this.#db.data.entries.map((e) => ({ ...e }));
  }

  /**
   * Adds the entry, or replaces the one with the same key, and writes this
   * month's file durably. Resolves to the bytes of the file written.
   */
  async put(entry: HistoryEntry): Promise<number> {
    if (monthOf(entry.time) !== this.month) throw new Error(`entry of ${monthOf(entry.time)} put into ${this.month}`);
    const before = this.#db.data;
    const entries = [...before.entries];
    const key = historyKey(entry);
    const i = this.#byKey.get(key);
    if (i === undefined) entries.push({ ...entry });
    else entries[i] = { ...entry };
    this.#db.data = { ...before, entries };
    try {
      await this.#db.write();
    } catch (e) {
      this.#db.data = before;
      throw e;
    }
    if (i === undefined) this.#byKey.set(key, entries.length - 1);
    return (await stat(this.path)).size;
  }

  #reindex(): void {
    this.#byKey = new Map(this.#db.data.entries.map((e, i) => [historyKey(e), i]));
  }
}
