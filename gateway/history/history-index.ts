/**
 * `<dir>/index.json`: the months the history holds, e.g.
 * `{ "version": 2, "months": ["2025-02", "2025-03"] }`. It grows with
 * months, never with entries, and is written only when a month starts: after
 * that month's first record is durable, so every month it names has a file.
 * A month it names whose file is gone was deleted behind the gateway's back:
 * that is damage, reported, never an empty month.
 *
 * A missing or unreadable index (a first start, an earlier version's index)
 * is rebuilt from the month files found; it is derived data.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { FsyncJsonFile } from '../registry/fsync-json-file.js';
import { isRegistryError } from '../registry/registry-error.js';
import type { FileOptions } from './history-partition.js';

interface IndexData {
  version: 2;
  months: string[];
}

const indexSchema = z.strictObject({ version: z.literal(2), months: z.array(z.string().regex(/^\d{4}-\d{2}$/)) });

export class HistoryIndex {
  readonly path: string;
  readonly #file: FsyncJsonFile<IndexData>;
  #months: Set<string>;

  private constructor(dir: string, options: FileOptions, months: Iterable<string>) {
    this.path = join(dir, 'index.json');
    this.#file = new FsyncJsonFile<IndexData>(this.path, {
      parse: (value) => indexSchema.parse(value) as IndexData,
      logger: options.logger,
      ...(options.rename ? { rename: options.rename } : {}),
    });
    this.#months = new Set(months);
  }

  /** The months the index on disk names, or null when it is missing or unreadable. */
  static async load(dir: string, options: FileOptions): Promise<HistoryIndex | null> {
    const index = new HistoryIndex(dir, options, []);
    try {
      const data = await index.#file.read();
      if (!data) return null;
      index.#months = new Set(data.months);
      return index;
    } catch (e) {
      if (isRegistryError(e, 'corrupt')) return null;
      throw e;
    }
  }

  /** An index of no months, not written (the first month's start writes it). */
  static empty(dir: string, options: FileOptions): HistoryIndex {
    return new HistoryIndex(dir, options, []);
  }

  /** An index of `months`, written durably. Resolves to it and the bytes written. */
  static async rebuild(dir: string, months: Iterable<string>, options: FileOptions): Promise<[HistoryIndex, number]> {
    const index = new HistoryIndex(dir, options, months);
    return [index, await index.#write()];
  }

  has(month: string): boolean {
    return this.#months.has(month);
  }

  /** Months named, newest first. */
  months(): string[] {
    return [...this.#months].sort().reverse();
  }

  /** Names `month` (after its first record is durable). Resolves to the bytes written: 0 when it was named already. */
  async add(month: string): Promise<number> {
    if (this.#months.has(month)) return 0;
    this.#months.add(month);
    try {
      return await this.#write();
    } catch (e) {
      this.#months.delete(month);
      throw e;
    }
  }

  async #write(): Promise<number> {
    const data: IndexData = { version: 2, months: [...this.#months].sort() };
    await this.#file.write(data);
    return Buffer.byteLength(`${JSON.stringify(data, null, 2)}\n`);
  }
}
