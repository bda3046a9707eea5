/**
 * `<dir>/index.json`: for each month partition, the seq range it holds per
 * card and kind, e.g. `{ "2025-03": { "c1:decision": [120, 171] } }`. A
 * lookup by key reads only the partitions whose range covers the seq (one,
 * usually: the card's counter grows with time). Its size grows with months
 * and cards, never with entries, so rewriting it is cheap.
 *
 * The index is a conservative hint: it is written BEFORE the partition, so
 * after a crash it may claim a seq no partition holds (a lookup then reads
 * one partition for nothing), but it never misses one. A missing or damaged
 * index, or a partition file it does not name, makes the store rebuild it
 * from the partitions once at open; it is derived data, safe to replace.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { z } from 'zod';
import { FsyncJsonFile } from '../registry/fsync-json-file.js';
import { isRegistryError } from '../registry/registry-error.js';
import { parseHistoryKey, type HistoryEntry } from './history-entry.js';
import type { FileOptions } from './history-partition.js';

/** `${cardId}:${kind}` → [min seq, max seq]. */
type Ranges = Record<string, [number, number]>;

interface IndexData {
  version: 1;
  partitions: Record<string, Ranges>;
}

const indexSchema = z.object({
  version: z.literal(1),
  partitions: z.record(z.string().regex(/^\d{4}-\d{2}$/), z.record(z.string(), z.tuple([z.number().int(), z.number().int()]))),
});

function covers(ranges: Ranges | undefined, entry: Pick<HistoryEntry, 'cardId' | 'kind' | 'seq'>): boolean {
  const range = ranges?.[`${entry.cardId}:${entry.kind}`];
  return range !== undefined && range[0] <= entry.seq && entry.seq <= range[1];
}

function widen(ranges: Ranges, entry: Pick<HistoryEntry, 'cardId' | 'kind' | 'seq'>): Ranges {
  const name = `${entry.cardId}:${entry.kind}`;
  const range = ranges[name];
  return { ...ranges, [name]: range ? [Math.min(range[0], entry.seq), Math.max(range[1], entry.seq)] : [entry.seq, entry.seq] };
}

export class HistoryIndex {
  readonly path: string;
  readonly #db: Low<IndexData>;

  private constructor(dir: string, options: FileOptions) {
    this.path = join(dir, 'index.json');
    const adapter = new FsyncJsonFile<IndexData>(this.path, {
      parse: (value) => indexSchema.parse(value) as IndexData,
      logger: options.logger,
      ...(options.rename ? { rename: options.rename } : {}),
    });
    this.#db = new Low<IndexData>(adapter, { version: 1, partitions: {} });
  }

  /**
   * The index on disk, or null when it is missing, damaged, or does not name
   * every month in `monthsOnDisk` (then the caller rebuilds it).
   */
  static async load(dir: string, monthsOnDisk: readonly string[], options: FileOptions): Promise<HistoryIndex | null> {
    const index = new HistoryIndex(dir, options);
    try {
      await index.#db.read();
    } catch (e) {
      if (isRegistryError(e, 'corrupt')) return null;
      throw e;
    }
    const named = index.#db.data.partitions;
    return monthsOnDisk.every((m) => m in named) ? index : null;
  }

  /** An index of the given partitions' entries, written durably. Resolves to it and the bytes written. */
  static async rebuild(dir: string, partitions: ReadonlyMap<string, readonly HistoryEntry[]>, options: FileOptions): Promise<[HistoryIndex, number]> {
    const index = new HistoryIndex(dir, options);
    const data: IndexData = { version: 1, partitions: {} };
    for (const [month, entries] of partitions) data.partitions[month] = entries.reduce(widen, {});
    index.#db.data = data;
    await index.#db.write();
    return [index, await fileSize(index)];
  }

  /** Months with a partition (possibly empty after a crash), newest first. */
  months(): string[] {
    return Object.keys(this.#db.data.partitions).sort().reverse();
  }

  /** Months whose partition may hold the key, newest first. */
  candidates(key: string): string[] {
    const parts = parseHistoryKey(key);
    return this.months().filter((m) => covers(this.#db.data.partitions[m], parts));
  }

  /**
   * Makes the index cover the entry in `month`, writing it only when a range
   * grows. Call before writing the partition. Resolves to the bytes written (0 if none).
   */
  async cover(month: string, entry: Pick<HistoryEntry, 'cardId' | 'kind' | 'seq'>): Promise<number> {
    const before = this.#db.data;
    if (covers(before.partitions[month], entry)) return 0;
    this.#db.data = { ...before, partitions: { ...before.partitions, [month]: widen(before.partitions[month] ?? {}, entry) } };
    try {
      await this.#db.write();
    } catch (e) {
      this.#db.data = before;
      throw e;
    }
    return fileSize(this);
  }
}

async function fileSize(index: HistoryIndex): Promise<number> {
  return (await stat(index.path)).size;
}
