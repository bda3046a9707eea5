/**
 * The durable memory of the last N delivered notification ids (default
 * 10 000), so that enqueueing an event again after it was fully delivered —
 * e.g. the gateway re-reads the card's log after a crash between a send and
 * the outbox file's removal — is a no-op instead of a second notification.
 *
 * Two files keep writes small: `delivered.log` gets one fsynced `<id>\n` per
 * delivery; when it holds more than N lines, the newest N ids are written to
 * `delivered.json` (atomic replace, FsyncJsonFile) and the log is truncated.
 * A crash between those two steps leaves ids in both: harmless duplicates. A
 * torn last line (no `\n`) is ignored and compacted away at open.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { FsyncJsonFile } from '../registry/fsync-json-file.js';
import { appendDurably, isErrno, truncateDurably } from './durable-fs.js';

const snapshotSchema = z.object({ version: z.literal(1), ids: z.array(z.string()) });
type Snapshot = z.infer<typeof snapshotSchema>;

export class DeliveredJournal {
  readonly #logPath: string;
  readonly #snapshot: FsyncJsonFile<Snapshot>;
  readonly #capacity: number;
  readonly #ids = new Set<string>();
  #order: string[] = [];
  #logLines = 0;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, capacity: number) {
    this.#logPath = join(dir, 'delivered.log');
    this.#snapshot = new FsyncJsonFile(join(dir, 'delivered.json'), { parse: (v) => snapshotSchema.parse(v) });
    this.#capacity = capacity;
  }

  /** Loads the journal in `dir` (which must exist). */
  static async open(dir: string, capacity = 10_000): Promise<DeliveredJournal> {
    const journal = new DeliveredJournal(dir, capacity);
    await journal.#load();
    return journal;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  get size(): number {
    return this.#ids.size;
  }

  /** Records `id` as delivered; resolves once that is durable. */
  add(id: string): Promise<void> {
    const run = this.#queue.then(async () => {
      if (this.#ids.has(id)) return;
      await appendDurably(this.#logPath, `${id}\n`);
      this.#remember(id);
      this.#logLines += 1;
      if (this.#logLines > this.#capacity) await this.#compact();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #remember(id: string): void {
    if (this.#ids.has(id)) return;
    this.#ids.add(id);
    this.#order.push(id);
    if (this.#order.length > this.#capacity) {
      const dropped = this.#order.splice(0, this.#order.length - this.#capacity);
      for (const old of dropped) this.#ids.delete(old);
    }
  }

  async #load(): Promise<void> {
    const snapshot = await this.#snapshot.read();
    for (const id of snapshot?.ids ?? []) this.#remember(id);
    let text = '';
    try {
      text = await readFile(this.#logPath, 'utf8');
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
    const complete = text.slice(0, text.lastIndexOf('\n') + 1); // a torn last line never counts
    const lines = complete.split('\n').filter((line) => line !== '');
    for (const id of lines) this.#remember(id);
    this.#logLines = lines.length;
    if (complete.length !== text.length || this.#logLines > this.#capacity) await this.#compact();
  }

  async #compact(): Promise<void> {
    await this.#snapshot.write({ version: 1, ids: [...this.#order] });
    try {
      await truncateDurably(this.#logPath);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
    this.#logLines = 0;
  }
}
