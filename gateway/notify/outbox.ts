/**
 * The durable outbox (docs/ARCHITECTURE.md, "State and durability"): a
 * notification is recorded before it is sent and forgotten only after every
 * channel it was queued for (MQTT, SMTP) acknowledged it, so a broker, mail
 * server or power outage delays notifications but never loses them.
 *
 * Kept as one append-only record log, `<dataDir>/outbox/outbox.log`
 * (outbox-log.ts): an enqueue appends `{add}` and resolves once it is
 * fsynced; an acknowledgement appends `{done}`. Delivered ids stay in memory
 * (the last `deliveredCapacity`) and in the log, so enqueueing an id that is
 * pending or recently delivered is a no-op and one card event never becomes
 * two notifications. The log is rewritten (atomically) only when its dead
 * records outweigh the live ones, so a notification costs the bytes of its
 * records, not a file of its own.
 *
 * Delivery is at-least-once: a crash after a send and before its `done`
 * reaches the log sends it again (same id) after restart.
 *
 * A `done` is appended WITHOUT its own fdatasync: it is in the page cache the
 * moment the append returns, so it survives a crash of the process (SIGKILL)
 * and becomes durable with the next `add` (whose fdatasync flushes the whole
 * file) or the kernel's writeback. Power loss in between can only undo the
 * `done`: the notification is then sent once more with the same id, which
 * receivers drop by id (card-io/access-card/mailbox.ts) — the same duplicate
 * a crash between the send and its record already makes. It can never lose a
 * notification, which is why the `add` keeps its fsync.
 *
 * A notification another store keeps durably (`enqueue(n, channels, { kept })`:
 * a payment's decision mail, which its archive entry holds with `mailed: false`)
 * is held in memory only: nothing is written here for it, and once every
 * channel acknowledged it `kept.delivered()` marks it in that store. At a
 * household's pace every file a payment touches costs a 4 KiB page of flash,
 * so the mail riding on the archive entry's page saves one (docs/PERFORMANCE.md).
 * A crash before its delivery loses nothing: the keeping store queues it again
 * at the next start (EmoneyManager.mailUnmailed).
 *
 * The formats of earlier versions (one file per entry, `delivered.log`) are
 * carried into the log at open (outbox-legacy.ts).
 */
import { join } from 'node:path';
import { ensureDirectory, removeDurably } from '../../card-io/base/durable/atomic-file.js';
import { RecordLog } from '../../card-io/base/durable/record-log.js';
import { silentLogger, type Logger } from '../../card-io/base/log.js';
import { readLegacyOutbox } from './outbox-legacy.js';
import { OUTBOX_LOG, OutboxState, parseOutboxRecord, type ChannelName, type OutboxRecord } from './outbox-log.js';
import { parseNotification, type Notification } from './notification.js';

export { CHANNEL_NAMES, type ChannelName } from './outbox-log.js';

export interface OutboxEntry {
  readonly notification: Notification;
  /** Channels that have not acknowledged it yet. */
  readonly pending: readonly ChannelName[];
  readonly enqueuedAt: string;
}

/** The durable copy of a notification the outbox holds in memory only (see the file comment). */
export interface KeptNotification {
  /** Called once every channel acknowledged the notification; records that where the copy is kept. */
  delivered(): Promise<void>;
}

export interface EnqueueOptions {
  /** Durable within the record log's group bound rather than before enqueue resolves (see `enqueue`). */
  groupCommit?: boolean;
  /** Held in memory only; its durable copy is kept elsewhere (see the file comment). */
  kept?: KeptNotification;
}

export interface OutboxOptions {
  /** The gateway's data directory; the outbox is `<dataDir>/outbox`. */
  dataDir: string;
  logger?: Logger;
  /** How many delivered ids are remembered for deduplication. Default 10 000. */
  deliveredCapacity?: number;
  /** The log is compacted only above this size (bytes). Default 1 MiB. */
  compactAtBytes?: number;
}

/** Below this the log is never compacted: rewriting a small file saves nothing. */
const COMPACT_AT_BYTES = 1 << 20;
/** Rough bytes of a `{delivered}` record beyond its id, for the live-size estimate. */
const DELIVERED_RECORD_OVERHEAD = 30;

export class Outbox {
  readonly dir: string;
  readonly #logger: Logger;
  readonly #log: RecordLog<OutboxRecord>;
  readonly #state: OutboxState;
  /** Entries whose `add` is not durable yet (a concurrent enqueue of the id waits for it). */
  readonly #adding = new Map<string, Promise<void>>();
  /** Bytes of each pending entry's record, for the live-size estimate. */
  readonly #entryBytes = new Map<string, number>();
  readonly #listeners = new Set<() => void>();
  /** Pending notifications held in memory only, with where their durable copy is kept. */
  readonly #kept = new Map<string, KeptNotification>();
  readonly #compactAtBytes: number;
  /** Delivered ids whose last `done` is not in the log yet: still counted by `size`, so a flush waits for it. */
  #finishing = 0;
  #deliveredBytes = 0;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, log: RecordLog<OutboxRecord>, state: OutboxState, logger: Logger, compactAtBytes: number) {
    this.dir = dir;
    this.#compactAtBytes = compactAtBytes;
    this.#log = log;
    this.#state = state;
    this.#logger = logger;
  }

  /**
   * Opens (creating) `<dataDir>/outbox` and reloads every pending
   * notification. Rejects with RecordLogError('corrupt') naming the log when a
   * record other than a torn last one is damaged (`homegate doctor --repair`
   * salvages it); a torn last record, what a crash mid-append leaves, is cut.
   */
  static async open(options: OutboxOptions): Promise<Outbox> {
    const dir = join(options.dataDir, 'outbox');
    const logger = options.logger ?? silentLogger;
    await ensureDirectory(dir);
    const { log, records, repairedTailBytes } = await RecordLog.open<OutboxRecord>(join(dir, OUTBOX_LOG), { parse: parseOutboxRecord });
    if (repairedTailBytes > 0) logger.warn({ path: log.path, bytes: repairedTailBytes }, 'Outbox log: an incomplete last record (a crash mid-append) was cut');
    const state = new OutboxState(options.deliveredCapacity ?? 10_000);
    for (const r of records) state.apply(r);
    const outbox = new Outbox(dir, log, state, logger, options.compactAtBytes ?? COMPACT_AT_BYTES);
    await outbox.#convertLegacy();
    outbox.#recount();
    if (state.pending.size > 0) logger.info({ pending: state.pending.size }, 'Outbox reloaded pending notifications');
    return outbox;
  }

  /**
   * Records `notification` for `channels`; resolves true once that is
   * durable, or false when the id is already pending or recently delivered
   * (then nothing is written and nothing will be sent again).
   *
   * `groupCommit`: resolves once the `add` is written, and it becomes durable
   * within the record log's group bound (at most 8 records or 1 s later,
   * record-log.ts). Only for a notification of a card event that the
   * reconciliation at start queues again from the card's log should a power
   * cut lose it (a payment's decision); a crash of the process loses nothing.
   *
   * `kept`: nothing is written; see the file comment.
   */
  async enqueue(notification: Notification, channels: readonly ChannelName[], options: EnqueueOptions = {}): Promise<boolean> {
    const n = parseNotification(notification);
    const adding = this.#adding.get(n.id);
    if (adding !== undefined) {
      await adding.catch(() => undefined);
      return false;
    }
    if (options.kept && this.#state.isDelivered(n.id)) {
      // Delivered in this process already (its mark may have failed): record it where it is kept.
      await options.kept
        .delivered()
        .catch((e: unknown) => this.#logger.warn({ id: n.id, err: (e as Error).message }, 'Could not record a kept notification as delivered'));
      return false;
    }
    if (this.#state.pending.has(n.id) || this.#state.isDelivered(n.id) || channels.length === 0) return false;
    const unique = [...new Set(channels)];
    const at = new Date().toISOString();
    if (options.kept) {
      this.#state.add(n, unique, at);
      this.#kept.set(n.id, options.kept);
      this.#logger.debug({ id: n.id, channels: unique }, 'Notification queued (kept by its archive entry)');
      this.#changed();
      return true;
    }
    const write = this.#serial(async () => {
      const bytes = await this.#log.append({ add: n, channels: unique, at }, { sync: options.groupCommit ? 'group' : true });
      this.#state.add(n, unique, at); // only once durable (or group-committed): only those entries are delivered
      this.#entryBytes.set(n.id, bytes);
      await this.#compactIfMostlyDead();
    });
    this.#adding.set(n.id, write);
    try {
      await write;
    } finally {
      this.#adding.delete(n.id);
    }
    this.#logger.debug({ id: n.id, channels: unique }, 'Notification queued');
    this.#changed();
    return true;
  }

  /** Durable notifications still waiting for `channel`, oldest first. */
  pendingFor(channel: ChannelName): Notification[] {
    return this.#state
      .ordered()
      .filter((e) => e.pending.has(channel))
      .map((e) => e.notification);
  }

  entries(): OutboxEntry[] {
    return this.#state.ordered().map((e) => ({ notification: e.notification, pending: [...e.pending], enqueuedAt: e.enqueuedAt }));
  }

  /** Number of notifications not yet delivered on every channel. */
  get size(): number {
    return this.#state.pending.size + this.#finishing;
  }

  /** Whether `id` is among the recently delivered notifications. */
  isDelivered(id: string): boolean {
    return this.#state.isDelivered(id);
  }

  /**
   * Records that `channel` acknowledged `id` (a `done` record, not fsynced on
   * its own: see the file comment). This process never sends it on that
   * channel again from the moment of the call.
   */
  markDone(id: string, channel: ChannelName): Promise<void> {
    const entry = this.#state.pending.get(id);
    if (entry === undefined || !entry.pending.has(channel)) return Promise.resolve();
    const delivered = this.#state.done(id, channel);
    const kept = this.#kept.get(id);
    if (kept) return this.#keptDone(id, kept, delivered);
    if (delivered) {
      this.#finishing += 1;
      this.#entryBytes.delete(id);
      this.#deliveredBytes += id.length + DELIVERED_RECORD_OVERHEAD;
      this.#logger.debug({ id }, 'Notification delivered on every channel');
    }
    const run = this.#serial(async () => {
      await this.#log.append({ done: id, channel }, { sync: false });
      await this.#compactIfMostlyDead();
    });
    const settled = () => {
      if (delivered) this.#finishing -= 1;
      this.#changed();
    };
    void run.then(settled, settled);
    return run;
  }

  /** A channel's acknowledgement of a kept notification: nothing written here; once delivered, its keeper records it. */
  async #keptDone(id: string, kept: KeptNotification, delivered: boolean): Promise<void> {
    if (delivered) {
      this.#kept.delete(id);
      this.#finishing += 1;
      this.#logger.debug({ id }, 'Notification delivered on every channel');
      try {
        await kept.delivered();
      } catch (e) {
        // The mark stays unwritten: the mail is sent again (same id) after the next start, which receivers drop.
        this.#logger.warn({ id, err: (e as Error).message }, 'Could not record a kept notification as delivered');
      } finally {
        this.#finishing -= 1;
      }
    }
    this.#changed();
  }

  /** Calls `listener` after every enqueue and mark; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }

  #serial<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Sets the live-size estimate from the state (after open). */
  #recount(): void {
    this.#entryBytes.clear();
    for (const [id, e] of this.#state.pending) if (!this.#kept.has(id)) this.#entryBytes.set(id, JSON.stringify(e.notification).length + 100);
    this.#deliveredBytes = this.#state.delivered().reduce((sum, id) => sum + id.length + DELIVERED_RECORD_OVERHEAD, 0);
  }

  /**
   * Rewrites the log to its live records once it is both over 1 MiB and more
   * than three quarters dead (delivered notifications, done records): rarely,
   * so the rewrite costs a small share of the bytes each notification
   * appends. Atomic (RecordLog.compact): a crash leaves the old or new log.
   */
  async #compactIfMostlyDead(): Promise<void> {
    let live = this.#deliveredBytes;
    for (const bytes of this.#entryBytes.values()) live += bytes;
    if (this.#log.size < this.#compactAtBytes || this.#log.size < 4 * live) return;
    await this.#compact();
  }

  async #compact(): Promise<void> {
    // Kept notifications stay out of the log: their durable copy is elsewhere (delivered ids are remembered either way).
    await this.#log.compact(this.#state.compacted((e) => !this.#kept.has(e.notification.id)));
    this.#recount();
  }

  /** Carries what earlier versions left in the directory into the log, then removes the old files. */
  async #convertLegacy(): Promise<void> {
    const legacy = await readLegacyOutbox(this.dir, this.#logger);
    if (legacy === null) return;
    // Older than anything in the log: remembered first, so the log's own deliveries stay the newest.
    const known = this.#state.delivered();
    for (const id of legacy.delivered) this.#state.remember(id);
    for (const id of known) this.#state.remember(id);
    let carried = 0;
    for (const e of legacy.entries) {
      // Already carried by a conversion a crash interrupted before it removed the files, or delivered.
      if (this.#state.pending.has(e.notification.id) || this.#state.isDelivered(e.notification.id)) continue;
      this.#state.add(e.notification, e.pending, e.enqueuedAt);
      carried += 1;
    }
    await this.#log.compact(this.#state.compacted()); // durable before any old file goes
    for (const path of legacy.files) await removeDurably(path);
    this.#logger.info({ pending: carried, delivered: legacy.delivered.length }, 'Outbox converted from the one-file-per-notification format');
  }
}
