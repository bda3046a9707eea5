/**
 * A small durable list of in-flight intents (one writer at a time): written
 * BEFORE the card acts, so reconciliation after a crash knows what was asked
 * and by whom. Shared by payments and top-ups.
 *
 * On disk an append-only record log (card-io/base/durable/record-log.ts): an
 * added intent is one `{ id, add }` record, dropped ones one `{ drop: [ids] }`
 * record, each one write + fdatasync. When dead records outnumber the live
 * ones the log is compacted (atomic replace), rarely: the list stays small.
 * A damaged journal is a RecordLogError('corrupt') naming the file, never an
 * empty list: a forgotten intent is a payment nobody is told about.
 */
import { z } from 'zod';
import { RecordLog } from '../../card-io/base/durable/record-log.js';
import { removeDurably } from '../../card-io/base/durable/atomic-file.js';
import { FsyncJsonFile } from '../registry/fsync-json-file.js';

/** An intent added (with the ids it replaces dropped in the same write), or intents dropped. */
type JournalRecord<T> = { id: number; add: T; drop?: number[] } | { drop: number[] };

function parseRecord<T>(value: unknown): JournalRecord<T> {
  const v = value as Record<string, unknown> | null;
  const ids = (x: unknown) => Array.isArray(x) && x.every(Number.isSafeInteger);
  if (v && typeof v === 'object' && 'add' in v) {
    const add = v.add as { at?: unknown } | undefined;
    if (Number.isSafeInteger(v.id) && add && typeof add === 'object' && typeof add.at === 'string' && (v.drop === undefined || ids(v.drop))) {
      return v as JournalRecord<T>;
    }
  } else if (v && typeof v === 'object' && ids(v.drop)) return v as JournalRecord<T>;
  throw new Error('not a journal record');
}

/** Bytes an intent record (with a drop list) takes, with room: a page with less left is filled (record-log.ts). */
const FILL_PAGE_BELOW = 512;

export class IntentJournal<T extends { at: string }> {
  readonly path: string;
  private log: RecordLog<JournalRecord<T>> | undefined;
  private items = new Map<number, T>();
  private records = 0;
  private nextId = 0;
  private queue: Promise<unknown> = Promise.resolve();

  /** `legacyPath`: the JSON array file of earlier versions, converted at the first read. */
  constructor(
    path: string,
    private readonly legacyPath?: string,
  ) {
    this.path = path;
  }

  /** Reads and checks the journal (at start, so damage is found before the first payment). */
  async open(): Promise<void> {
    await this.serial(async () => undefined);
  }

  private async load(): Promise<RecordLog<JournalRecord<T>>> {
    if (this.log) return this.log;
    const { log, records } = await RecordLog.open<JournalRecord<T>>(this.path, { parse: parseRecord });
    for (const r of records) {
      for (const id of r.drop ?? []) this.items.delete(id);
      if ('add' in r) {
        this.items.set(r.id, r.add);
        this.nextId = Math.max(this.nextId, r.id + 1);
      }
    }
    if (records.length === 0 && this.legacyPath) {
      const legacy = await new FsyncJsonFile<T[]>(this.legacyPath, { parse: (v) => z.array(z.looseObject({ at: z.string() })).parse(v) as T[] }).read();
      if (legacy) {
        legacy.forEach((add, id) => {
          this.items.set(id, add);
        });
        this.nextId = legacy.length;
        await log.compact([...this.items].map(([id, add]) => ({ id, add })));
      }
      await removeDurably(this.legacyPath);
    }
    this.records = records.length;
    this.log = log;
    return log;
  }

  private serial<R>(fn: (log: RecordLog<JournalRecord<T>>) => Promise<R>): Promise<R> {
    const next = this.queue.then(async () => fn(await this.load()));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Keep what `keep` accepts, add `item` stamped now: one record, one durable append. */
  add(item: Omit<T, 'at'>, keep: (x: T) => boolean): Promise<void> {
    return this.serial(async (log) => {
      const drop = [...this.items].filter(([, x]) => !keep(x)).map(([id]) => id);
      const id = this.nextId++;
      const added = { ...item, at: new Date().toISOString() } as T;
      await this.write(log, drop.length > 0 ? { id, add: added, drop } : { id, add: added });
      for (const gone of drop) this.items.delete(gone);
      this.items.set(id, added);
      await this.compactIfMostlyDead(log);
    });
  }

  /** Drop what `drop` matches; no write when nothing matched. */
  remove(drop: (x: T) => boolean): Promise<void> {
    return this.serial(async (log) => {
      const ids = [...this.items].filter(([, x]) => drop(x)).map(([id]) => id);
      if (ids.length === 0) return;
      await this.write(log, { drop: ids });
      for (const id of ids) this.items.delete(id);
      await this.compactIfMostlyDead(log);
    });
  }

  all(): Promise<T[]> {
    return this.serial(async () => [...this.items.values()]);
  }

  private async write(log: RecordLog<JournalRecord<T>>, record: JournalRecord<T>): Promise<void> {
    // A nearly full page is completed with a no-op record, so the next intent (about 200 bytes) dirties one page, not two.
    await log.append(record, { fillPageBelow: FILL_PAGE_BELOW, filler: { drop: [] } });
    this.records += 1;
  }

  private async compactIfMostlyDead(log: RecordLog<JournalRecord<T>>): Promise<void> {
    if (this.records < 256 || this.records < 8 * (this.items.size + 1)) return;
    await log.compact([...this.items].map(([id, add]) => ({ id, add })));
    this.records = this.items.size;
  }
}
