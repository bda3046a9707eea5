/**
 * The gateway's archive of every decision, cancel and load, kept after the
 * card's 32-record log has dropped them (PROTOCOL.md, "Purse").
 *
 * Each month is an append-only log, `<dir>/<YYYY-MM>.jsonl` by entry time
 * (history-partition.ts): an append or a status change is one record, one
 * write, one fdatasync, so the bytes written per change are those of its
 * record, flat however large the month or the history. `index.json` (the list
 * of months, history-index.ts) is written only when a month starts.
 * `bytesWritten` counts what the store wrote.
 *
 * `open` reads and checks every month once: a torn last record (a crash
 * mid-append) is cut; any other damage, or a month file the index names that
 * is gone, is kept in `damage()` and the month is refused on use with
 * HistoryError('corrupt'), never read as empty. The other months keep
 * serving. While reading it notes, per month, the seq range of each card and
 * kind (so `get` reads one month, usually) and the unpresented decisions
 * (`listPending`). Every use re-checks with one stat that a cached month is
 * still the file it read, so damage after open is found on use, too.
 *
 * The most recently used few months stay in memory. Every call runs one at a
 * time through a queue, so a read never sees a month mid-write. Returned
 * entries are copies.
 */
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../card-io/base/log.js';
import { checkEntry, checkPatch, historyKey, monthOf, parseHistoryKey, type HistoryEntry, type HistoryPatch, type NewHistoryEntry } from './history-entry.js';
import { HistoryError, isHistoryError } from './history-error.js';
import { HistoryIndex } from './history-index.js';
import { OrderIndex } from './order-index.js';
import { LEGACY_MONTH_FILE, migrateLegacyMonth, salvageMonth, MONTH_LOG, monthLogPath, Partition, type FileOptions } from './history-partition.js';

export interface HistoryStoreOptions {
  /** The months' directory, e.g. `<data>/history`; created (0700) if missing. */
  dir: string;
  logger: Logger;
  /** Milliseconds since the epoch, for `archivedAt`. Default Date.now. */
  clock?: () => number;
  /**
   * Months kept in memory, least recently used dropped first; 1..64.
   * Default 4: this month and the last cover the card's 32-record log with room for reads of older months.
   */
  cachedPartitions?: number;
  /** Fault-injection seam for tests, passed to the index's FsyncJsonFile. Default fs.rename. */
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

/** A damaged history file: its absolute path and why. */
export interface HistoryDamage {
  path: string;
  month: string;
  reason: 'corrupt' | 'missing';
}

/** Newest first; at the same time the higher seq first. */
function newestFirst(a: HistoryEntry, b: HistoryEntry): number {
  return a.time === b.time ? b.seq - a.seq : a.time < b.time ? 1 : -1;
}

const isPending = (e: HistoryEntry) => e.kind === 'decision' && e.status === 'paid' && e.presented === false && !e.marketRefused;
const isUnmailed = (e: HistoryEntry) => e.kind === 'decision' && e.mailed === false;

export class HistoryStore {
  readonly dir: string;
  readonly #clock: () => number;
  readonly #files: FileOptions;
  readonly #maxCached: number;
  readonly #cache = new Map<string, Partition>();
  /** month → `${cardId}:${kind}` → [min seq, max seq], for every sound month. */
  readonly #ranges = new Map<string, Map<string, [number, number]>>();
  /** Keys of decisions paid and not yet presented → their month. */
  readonly #pending = new Map<string, string>();
  /** Keys of decisions whose mail this archive keeps and no channel has finished yet → their month. */
  readonly #unmailed = new Map<string, string>();
  /** The months holding each decision's market and order (findDecision). */
  readonly #orders = new OrderIndex();
  readonly #damage = new Map<string, HistoryDamage>();
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

  /** Opens (or creates) the history in `options.dir`, checking every month (see the file comment). */
  static async open(options: HistoryStoreOptions): Promise<HistoryStore> {
    const cached = options.cachedPartitions ?? 4;
    if (!Number.isInteger(cached) || cached < 1 || cached > 64) {
      throw new HistoryError('invalid', 'cachedPartitions must be an integer in 1..64', { cachedPartitions: cached });
    }
    const logger = options.logger.child({ channel: 'history' });
    const files: FileOptions = { logger, ...(options.rename ? { rename: options.rename } : {}) };
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const logs = new Set<string>();
    const legacy: string[] = [];
    for (const name of await readdir(options.dir)) {
      const month = MONTH_LOG.exec(name)?.[1];
      if (month) logs.add(month);
      else if (LEGACY_MONTH_FILE.exec(name)) legacy.push(LEGACY_MONTH_FILE.exec(name)![1]!);
      else if (name.endsWith('.tmp')) {
        await unlink(join(options.dir, name));
        logger.warn({ file: name }, 'Removed a stale temp file (an interrupted write); the last complete state is kept');
      }
    }
    const damage: HistoryDamage[] = [];
    for (const month of legacy) {
      try {
        await migrateLegacyMonth(options.dir, month, logs.has(month), logger);
        logs.add(month);
      } catch (e) {
        if (!isHistoryError(e, 'corrupt')) throw e;
        damage.push({ path: join(options.dir, `${month}.json`), month, reason: 'corrupt' });
      }
    }
    let index = await HistoryIndex.load(options.dir, files);
    let written = 0;
    if (!index && logs.size === 0) index = HistoryIndex.empty(options.dir, files);
    else if (!index || [...logs].some((m) => !index!.has(m))) {
      const months = new Set([...(index?.months() ?? []), ...logs]);
      if (!index) logger.warn({ months: logs.size }, 'The history index is missing or unreadable; rebuilding it from the month files');
      [index, written] = await HistoryIndex.rebuild(options.dir, months, files);
    }
    const store = new HistoryStore(options, files, index);
    store.#bytesWritten = written;
    for (const d of damage) store.#damage.set(d.month, d);
    for (const month of index.months().reverse()) {
      if (store.#damage.has(month)) continue;
      if (!logs.has(month)) {
        store.#damage.set(month, { path: monthLogPath(options.dir, month), month, reason: 'missing' });
        continue;
      }
      try {
        store.#learn(await store.#partition(month));
      } catch (e) {
        if (!isHistoryError(e, 'corrupt')) throw e;
      }
    }
    for (const d of store.#damage.values()) {
      logger.error({ path: d.path, reason: d.reason }, 'A history month is damaged; state changes are refused until `homegate doctor --repair`');
    }
    return store;
  }

  /** Bytes of month logs and index this store has written to disk since it was opened. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Damaged month files found so far (at open or on use), oldest month first. */
  damage(): HistoryDamage[] {
    return [...this.#damage.values()].sort((a, b) => (a.month < b.month ? -1 : 1));
  }

  /**
   * Re-checks, with one stat each, the cached months and the month of `time`
   * (default now): a file changed behind the store is read again, and
   * recorded as damage when it no longer checks. Resolves to `damage()`.
   * The check to run before a state change the archive must record.
   */
  check(time: number = this.#clock()): Promise<HistoryDamage[]> {
    return this.#run(async () => {
      const months = new Set([...this.#cache.keys(), new Date(time).toISOString().slice(0, 7)]);
      for (const month of months) {
        if (this.#damage.has(month) || !this.#index.has(month)) continue;
        await this.#partition(month).catch((e: unknown) => {
          if (!isHistoryError(e, 'corrupt')) throw e;
        });
      }
      return this.damage();
    });
  }

  /**
   * Archives the entry, idempotent by key (`cardId:kind:seq`): a key already
   * archived is left as it is, unless the entry brings a different status
   * (a decision cancelled on the card), which appends that change to the
   * entry's month, with the newly signed record when given.
   *
   * `groupCommit`: the record is durable within the record log's group bound
   * (at most 8 records or 1 s later, record-log.ts) instead of before this
   * resolves. Only for an entry the card's own log restores should a power
   * cut lose it: a payment's decision, which the reconciliation at start
   * archives again from the card (emoney-reconciler.ts), with the terminal
   * from the payment intent journaled (fsynced) before the card paid.
   */
  async append(entry: NewHistoryEntry, options: { groupCommit?: boolean } = {}): Promise<AppendOutcome> {
    const checked = checkEntry(entry, this.#clock);
    return this.#run(async () => {
      const key = historyKey(checked);
      const found = await this.#find(key);
      if (found) {
        const [partition, existing] = found;
        if (checked.status === undefined || checked.status === existing.status) return 'unchanged';
        const signed = checked.signedRecord === undefined ? {} : { signedRecord: checked.signedRecord };
        await this.#put(partition, { ...existing, status: checked.status, ...signed });
        return 'updated';
      }
      const month = monthOf(checked.time);
      await this.#put(await this.#partition(month), checked, options.groupCommit);
      this.#bytesWritten += await this.#index.add(month); // after the month's first record is durable
      return 'appended';
    });
  }

  /** Changes status, signedRecord, presented, marketRefused, terminalId or mailed of an archived entry; HistoryError('not-found') if there is none. */
  async update(key: string, patch: HistoryPatch): Promise<HistoryEntry> {
    const checked = checkPatch(patch);
    return this.#run(async () => {
      const found = await this.#find(key);
      if (!found) throw new HistoryError('not-found', `No entry ${key}`, { key });
      const [partition, existing] = found;
      const next = { ...existing, ...checked };
      await this.#put(partition, next);
      return next;
    });
  }

  /** The archived entry with this key, or undefined. Reads only the months whose seq range covers it. */
  get(key: string): Promise<HistoryEntry | undefined> {
    return this.#run(async () => (await this.#find(key))?.[1]);
  }

  /**
   * The archived decision of card `cardId` for this market (DNS name, any
   * case) and order, or undefined. Reads only the months that may hold it
   * (and damaged months, whose content is unknown: their readable part).
   */
  findDecision(cardId: string, market: string, orderId: string): Promise<HistoryEntry | undefined> {
    return this.#run(async () => {
      const months = new Set([...this.#orders.monthsOf(market, orderId), ...this.#damage.keys()]);
      const wanted = market.toLowerCase();
      for (const month of this.#index.months()) {
        if (!months.has(month)) continue;
        const found = (await this.#readable(month)).find(
          (e) => e.kind === 'decision' && e.cardId === cardId && e.orderId === orderId && e.market?.toLowerCase() === wanted,
        );
        if (found) return found;
      }
      return undefined;
    });
  }

  /** Paid decisions not yet presented to their market, newest first, from every month (kept as the store reads and writes). */
  listPending(): Promise<HistoryEntry[]> {
    return this.#run(async () => {
      const result: HistoryEntry[] = [];
      for (const [key, month] of this.#pending) {
        const entry = (await this.#partition(month)).get(key);
        if (entry && isPending(entry)) result.push(entry);
      }
      return result.sort(newestFirst);
    });
  }

  /** Decisions whose mail the archive keeps (`mailed: false`), oldest first, from every month (kept as the store reads and writes). */
  listUnmailed(): Promise<HistoryEntry[]> {
    return this.#run(async () => {
      const result: HistoryEntry[] = [];
      for (const [key, month] of this.#unmailed) {
        const entry = (await this.#partition(month)).get(key);
        if (entry && isUnmailed(entry)) result.push(entry);
      }
      return result.sort(newestFirst).reverse();
    });
  }

  /**
   * Entries newest first across months, reading months from the newest until
   * `limit` is reached. Of a damaged month, the records before the damage
   * (see `damage()`): reads stay served while writes are refused.
   */
  async list(query: HistoryQuery = {}): Promise<HistoryEntry[]> {
    const { terminalId, since, limit = Infinity } = query;
    if (limit !== Infinity && (!Number.isInteger(limit) || limit < 1)) throw new HistoryError('invalid', 'limit must be a positive integer', { limit });
    if (since !== undefined && Number.isNaN(Date.parse(since))) throw new HistoryError('invalid', 'since must be an ISO 8601 time', { since });
    const from = since === undefined ? undefined : new Date(since).toISOString();
    return this.#run(async () => {
      const result: HistoryEntry[] = [];
      for (const month of this.#index.months()) {
        if (from !== undefined && month < from.slice(0, 7)) break;
        const entries = (await this.#readable(month)).filter(
          (e) => (terminalId === undefined || e.terminalId === terminalId) && (from === undefined || e.time >= from),
        );
        result.push(...entries.sort(newestFirst));
        if (result.length >= limit) break;
      }
      return result.slice(0, limit);
    });
  }

  /** The month's entries; for a damaged month, what can still be read of it (reads keep being served). */
  async #readable(month: string): Promise<HistoryEntry[]> {
    try {
      return (await this.#partition(month)).entries();
    } catch (e) {
      if (!isHistoryError(e, 'corrupt')) throw e;
      this.#files.logger.warn({ path: this.#damage.get(month)?.path, month }, 'Listing the readable part of a damaged history month');
      return salvageMonth(monthLogPath(this.dir, month), month);
    }
  }

  async #put(partition: Partition, entry: HistoryEntry, groupCommit = false): Promise<void> {
    try {
      this.#bytesWritten += await partition.put(entry, { groupCommit });
    } catch (e) {
      if (isHistoryError(e, 'corrupt')) this.#damage.set(partition.month, { path: partition.path, month: partition.month, reason: 'corrupt' });
      throw e;
    }
    this.#note(partition.month, entry);
  }

  /** Remembers the entry's seq range, whether it waits for presentation, and its market and order. */
  #note(month: string, entry: HistoryEntry): void {
    let ranges = this.#ranges.get(month);
    if (!ranges) this.#ranges.set(month, (ranges = new Map()));
    const name = `${entry.cardId}:${entry.kind}`;
    const range = ranges.get(name);
    ranges.set(name, range ? [Math.min(range[0], entry.seq), Math.max(range[1], entry.seq)] : [entry.seq, entry.seq]);
    const key = historyKey(entry);
    if (isPending(entry)) this.#pending.set(key, month);
    else this.#pending.delete(key);
    if (isUnmailed(entry)) this.#unmailed.set(key, month);
    else this.#unmailed.delete(key);
    this.#orders.note(month, entry);
  }

  #learn(partition: Partition): void {
    for (const entry of partition.entries()) this.#note(partition.month, entry);
  }

  async #find(key: string): Promise<[Partition, HistoryEntry] | undefined> {
    const { cardId, kind, seq } = parseHistoryKey(key);
    const name = `${cardId}:${kind}`;
    for (const month of this.#index.months()) {
      const range = this.#ranges.get(month)?.get(name);
      // A damaged month's ranges are unknown: it may hold the key, and must not be read as lacking it.
      if (!this.#damage.has(month) && (!range || seq < range[0] || seq > range[1])) continue;
      const partition = await this.#partition(month);
      const entry = partition.get(key);
      if (entry) return [partition, entry];
    }
    return undefined;
  }

  /**
   * The month from the cache (refreshing its place) when its file is still
   * the one read, else from disk. A month that does not check is recorded as
   * damage and refused with HistoryError('corrupt'); once it checks again
   * (after a repair) it serves again.
   */
  async #partition(month: string): Promise<Partition> {
    let partition = this.#cache.get(month);
    if (partition) this.#cache.delete(month);
    if (!partition || !(await partition.unchanged())) {
      try {
        partition = await Partition.load(this.dir, month, this.#files);
      } catch (e) {
        if (isHistoryError(e, 'corrupt')) {
          const path = typeof e.context.path === 'string' ? e.context.path : monthLogPath(this.dir, month);
          this.#damage.set(month, { path, month, reason: 'corrupt' });
        }
        throw e;
      }
      if (!partition.exists && this.#index.has(month)) {
        const path = monthLogPath(this.dir, month);
        this.#damage.set(month, { path, month, reason: 'missing' });
        throw new HistoryError('corrupt', `History month ${month} is missing`, { path });
      }
      if (this.#damage.delete(month)) this.#learn(partition);
    }
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
