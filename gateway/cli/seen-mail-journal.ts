/**
 * The terminal's memory of the mail it has shown (`homegate terminal mail`):
 * delivery is at-least-once, so the mailbox drops ids it has seen before
 * (card-io/access-card/mailbox.ts, `seen`). Kept in the terminal profile as an append-only
 * record log (card-io/base/durable/record-log.ts), `mail-seen.jsonl`: each
 * read that showed mail appends one `{ "seen": [ids] }` record, one write and
 * one fdatasync, whatever the journal already holds. When the log holds
 * twice the ids it remembers, it is rewritten to the newest `capacity` ids
 * (atomically: temp file, fsync, rename), rarely. A torn last record (a crash
 * mid-append) is cut at open; any other damage is an error naming the file,
 * never an empty memory that would show old mail again.
 *
 * Earlier versions rewrote `mail-seen.json` (a JSON array) whole at every
 * read; it is converted at the first open and removed.
 */
import { join } from 'node:path';
import { readFileIfExists, removeDurably } from '../../card-io/base/durable/atomic-file.js';
import { RecordLog } from '../../card-io/base/durable/record-log.js';

export const SEEN_MAIL_LOG = 'mail-seen.jsonl';
const LEGACY_FILE = 'mail-seen.json';
/** Ids remembered by default: far more than a broker keeps queued for one terminal. */
export const SEEN_MAIL_CAPACITY = 10_000;

interface SeenRecord {
  seen: string[];
}

function parseRecord(value: unknown): SeenRecord {
  const seen = (value as { seen?: unknown } | null)?.seen;
  if (!Array.isArray(seen) || !seen.every((id) => typeof id === 'string')) throw new Error('not a seen-mail record');
  return { seen };
}

export class SeenMailJournal {
  readonly path: string;
  readonly #log: RecordLog<SeenRecord>;
  readonly #capacity: number;
  /** Ids in the order first seen, oldest first (a Set keeps insertion order). */
  readonly #ids = new Set<string>();
  /** Ids the log's records hold, repeats included: what a rewrite would save. */
  #logged = 0;

  private constructor(path: string, log: RecordLog<SeenRecord>, capacity: number) {
    this.path = path;
    this.#log = log;
    this.#capacity = capacity;
  }

  /** Reads the journal of the profile in `profileDir` (a missing one is empty), converting the file of earlier versions. */
  static async open(profileDir: string, options: { capacity?: number } = {}): Promise<SeenMailJournal> {
    const path = join(profileDir, SEEN_MAIL_LOG);
    const { log, records } = await RecordLog.open<SeenRecord>(path, { parse: parseRecord });
    const journal = new SeenMailJournal(path, log, options.capacity ?? SEEN_MAIL_CAPACITY);
    for (const r of records) journal.#remember(r.seen);
    journal.#logged = records.reduce((n, r) => n + r.seen.length, 0);
    const legacyPath = join(profileDir, LEGACY_FILE);
    const legacy = await readFileIfExists(legacyPath);
    if (legacy !== undefined) {
      let ids: string[] = [];
      try {
        const parsed = JSON.parse(legacy) as unknown;
        if (Array.isArray(parsed)) ids = parsed.filter((id): id is string => typeof id === 'string');
      } catch {
        // The old file was rewritten in place without a temp file: a torn one held nothing usable.
      }
      const logged = [...journal.#ids];
      journal.#ids.clear();
      journal.#remember([...ids, ...logged]); // the old file's ids are older than the log's
      await journal.#rewrite(); // durable before the old file goes
      await removeDurably(legacyPath);
    }
    return journal;
  }

  /** The remembered ids, oldest first. */
  get ids(): ReadonlySet<string> {
    return this.#ids;
  }

  /** Remembers `ids` (those not remembered yet): one appended record, durable when this resolves; nothing when all are known. */
  async record(ids: Iterable<string>): Promise<void> {
    const fresh = [...new Set(ids)].filter((id) => !this.#ids.has(id));
    if (fresh.length === 0) return;
    await this.#log.append({ seen: fresh });
    this.#logged += fresh.length;
    this.#remember(fresh);
    if (this.#logged > 2 * this.#capacity) await this.#rewrite();
  }

  #remember(ids: readonly string[]): void {
    for (const id of ids) this.#ids.add(id);
    for (const oldest of this.#ids) {
      if (this.#ids.size <= this.#capacity) break;
      this.#ids.delete(oldest);
    }
  }

  async #rewrite(): Promise<void> {
    const ids = [...this.#ids];
    await this.#log.compact(ids.length === 0 ? [] : [{ seen: ids }]);
    this.#logged = ids.length;
  }
}
