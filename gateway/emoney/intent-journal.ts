/**
 * A small durable list of in-flight intents (fsync adapter, one writer at a
 * time): written BEFORE the card acts, so reconciliation after a crash knows
 * what was asked and by whom. Shared by payments and top-ups.
 */
import { FsyncJsonFile } from '../registry/fsync-json-file.js';

export class IntentJournal<T extends { at: string }> {
  private readonly file: FsyncJsonFile<T[]>;
  private items: T[] | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.file = new FsyncJsonFile<T[]>(path);
  }

  private async load(): Promise<T[]> {
    this.items ??= (await this.file.read()) ?? [];
    return this.items;
  }

  private serial<R>(fn: () => Promise<R>): Promise<R> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Keep what `keep` accepts, add `item` stamped now, write durably. */
  add(item: Omit<T, 'at'>, keep: (x: T) => boolean): Promise<void> {
    return this.serial(async () => {
      this.items = [...(await this.load()).filter(keep), { ...item, at: new Date().toISOString() } as T];
      await this.file.write(this.items);
    });
  }

  /** Drop what `drop` matches; no write when nothing matched. */
  remove(drop: (x: T) => boolean): Promise<void> {
    return this.serial(async () => {
      const all = await this.load();
      const kept = all.filter((x) => !drop(x));
      if (kept.length === all.length) return;
      this.items = kept;
      await this.file.write(kept);
    });
  }

  all(): Promise<T[]> {
    return this.serial(async () => [...(await this.load())]);
  }
}
