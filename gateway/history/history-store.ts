/**
 * The gateway's archive of every decision, cancel and load, kept after the
 * card's 32-record log has dropped them (PROTOCOL.md, "Purse").
 *
 * History grows in month partitions, `<dir>/<YYYY-MM>.json` by entry time,
 * plus a small `index.json` (see history-index.ts). An append or update
 * rewrites one partition and at most the index, so the bytes written per
 * change follow one month's activity, not the size of the whole history
 * (ARCHITECTURE.md, state and durability). `bytesWritten` counts them.
 *
 * Partitions are read lazily, newest month first, and the most recently used
 * few stay in memory. Every call runs one at a time through a queue, so a
 * read never sees a partition mid-write. Returned entries are copies.
 */
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../card-io/log.js';
import { checkEntry, checkPatch, historyKey, monthOf, type HistoryEntry, type HistoryPatch, type NewHistoryEntry } from './history-entry.js';
import { HistoryError } from './history-error.js';
import { HistoryIndex } from './history-index.js';
import { MONTH_FILE, Partition, type FileOptions } from './history-partition.js';

export interface HistoryStoreOptions {
  /** The partitions' directory, e.g. `<data>/history`; created (0700) if missing. */
  dir: string;
  logger: Logger;
  /** Milliseconds since the epoch, for `archivedAt`. Default Date.now. */
  clock?: () => number;
  /**
   * Month partitions kept in memory, least recently used dropped first; 1..64.
   * Default 4: this month and the last cover the card's 32-record log with room for reads of older months.
   */
  cachedPartitions?: number;
  /** Fault-injection seam for tests, passed to FsyncJsonFile. Default fs.rename. */
  rename?: (from: string, to: string) => Promise<void>;
}

/** What `append` did: added the key, changed its status, or nothing (the key was archived already). */
export type AppendOutcome = 'appended' | 'updated' | 'unchanged';

export interface HistoryQuery {
  /** Only entries made for this terminal. */
  terminalId?: string;
  /** ISO 8601: only entries at or after this time. */
  since?: string;
  /** At most this many entries (a positive integer). Default: all. */
  limit?: number;
}

/** Newest first; at the same time the higher seq first. */
function newestFirst(a: HistoryEntry, b: HistoryEntry): number {
  return a.time === b.time ? b.seq - a.seq : a.time < b.time ? 1 : -1;
}

export class HistoryStore {
  readonly dir: string;
  readonly #clock: () => number;
  readonly #files: FileOptions;
  readonly #maxCached: number;
  readonly #cache = new Map<string, Partition>();
  #index: HistoryIndex;
  #bytesWritten = 0;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(options: HistoryStoreOptions, files: FileOptions, index: HistoryIndex) {
    this.dir = options.dir;
    this.#clock = options.clock ?? Date.now;
    this.#files = files;
    this.#maxCached = options.cachedPartitions ?? 4;
    this.#index = index;
  }

  /** Opens (or creates) the history in `options.dir`, rebuilding the index if it is missing or stale. */
  static async open(options: HistoryStoreOptions): Promise<HistoryStore> {
    const cached = options.cachedPartitions ?? 4;
    if (!Number.isInteger(cached) || cached < 1 || cached > 64) {
      throw new HistoryError('invalid', 'cachedPartitions must be an integer in 1..64', { cachedPartitions: cached });
    }
    const logger = options.logger.child({ channel: 'history' });
    const files: FileOptions = { logger, ...(options.rename ? { rename: options.rename } : {}) };
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const months: string[] = [];
    for (const name of await readdir(options.dir)) {
      const month = MONTH_FILE.exec(name)?.[1];
      if (month) months.push(month);
      else if (name.endsWith('.json.tmp')) {
        await unlink(join(options.dir, name));
        logger.warn({ file: name }, 'Removed a stale temp file (an interrupted write); the last complete state is kept');
      }
    }
    let index = await HistoryIndex.load(options.dir, months, files);
    let rebuilt = 0;
    if (!index) {
      logger.warn({ partitions: months.length }, 'The history index is missing or stale; rebuilding it from the partitions');
      const all = new Map<string, HistoryEntry[]>();
      for (const month of months) all.set(month, (await Partition.load(options.dir, month, files)).entries());
      [index, rebuilt] = await HistoryIndex.rebuild(options.dir, all, files);
    }
    const store = new HistoryStore(options, files, index);
    store.#bytesWritten = rebuilt;
    return store;
  }

  /** Bytes of partition and index files this store has written to disk since it was opened. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /**
   * Archives the entry, idempotent by key (`cardId:kind:seq`): a key already
   * archived is left as it is, unless the entry brings a different status
   * (a decision cancelled on the card), which updates that entry in its own
   * partition, with the newly signed record when given.
   */
  async append(entry: NewHistoryEntry): Promise<AppendOutcome> {
    const checked = checkEntry(entry, this.#clock);
    return this.#run(async () => {
      const key = historyKey(checked);
      const found = await this.#find(key);
      if (found) {
        const [partition, existing] = found;
        if (checked.status === undefined || checked.status === existing.status) return 'unchanged';
        const signed = checked.signedRecord === undefined ? {} : { signedRecord: checked.signedRecord };
        this.#bytesWritten += await partition.put({ ...existing, status: checked.status, ...signed });
        return 'updated';
      }
      const month = monthOf(checked.time);
      this.#bytesWritten += await this.#index.cover(month, checked);
      this.#bytesWritten += await (await this.#partition(month)).put(checked);
      return 'appended';
    });
  }

  /** Changes status, signedRecord, presented, marketRefused or terminalId of an archived entry; HistoryError('not-found') if there is none. */
  async update(key: string, patch: HistoryPatch): Promise<HistoryEntry> {
    const checked = checkPatch(patch);
    return this.#run(async () => {
      const found = await this.#find(key);
      if (!found) throw new HistoryError('not-found', `No entry ${key}`, { key });
      const [partition, existing] = found;
      const next = { ...existing, ...checked };
      if (Object.entries(checked).some(([field, value]) => existing[field as keyof HistoryEntry] !== value)) {
        this.#bytesWritten += await partition.put(next);
      }
      return next;
    });
  }

  /** The archived entry with this key, or undefined. Reads only the partitions the index names for it. */
  get(key: string): Promise<HistoryEntry | undefined> {
    return this.#run(async () => (await this.#find(key))?.[1]);
  }

  /** Entries newest first across months, reading partitions from the newest until `limit` is reached. */
  async list(query: HistoryQuery = {}): Promise<HistoryEntry[]> {
    const { terminalId, since, limit = Infinity } = query;
    if (limit !== Infinity && (!Number.isInteger(limit) || limit < 1)) throw new HistoryError('invalid', 'limit must be a positive integer', { limit });
    if (since !== undefined && Number.isNaN(Date.parse(since))) throw new HistoryError('invalid', 'since must be an ISO 8601 time', { since });
    const from = since === undefined ? undefined : new Date(since).toISOString();
    return this.#run(async () => {
      const result: HistoryEntry[] = [];
      for (const month of this.#index.months()) {
        if (from !== undefined && month < from.slice(0, 7)) break;
        const entries = (await this.#partition(month))
          .entries()
          .filter((e) => (terminalId === undefined || e.terminalId === terminalId) && (from === undefined || e.time >= from));
        result.push(...entries.sort(newestFirst));
        if (result.length >= limit) break;
      }
      return result.slice(0, limit);
    });
  }

  async #find(key: string): Promise<[Partition, HistoryEntry] | undefined> {
    for (const month of this.#index.candidates(key)) {
      const partition = await this.#partition(month);
      const entry = partition.get(key);
      if (entry) return [partition, entry];
    }
    return undefined;
  }

  /** The month's partition from the cache (refreshing its place) or from disk. */
  async #partition(month: string): Promise<Partition> {
    let partition = this.#cache.get(month);
    if (partition) this.#cache.delete(month);
    else partition = await Partition.load(this.dir, month, this.#files);
    this.#cache.set(month, partition);
    for (const oldest of this.#cache.keys()) {
      if (this.#cache.size <= this.#maxCached) break;
      this.#cache.delete(oldest);
    }
    return partition;
  }

  #run<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
