/**
 * The durable outbox (ARCHITECTURE.md, "State and durability"): a
 * notification is recorded before it is sent and removed only after every
 * channel it was queued for (MQTT, SMTP) acknowledged it, so a broker, mail
 * server or power outage delays notifications but never loses them.
 *
 * One file per notification in `<dataDir>/outbox/<sha256(id)[0..32]>.json`
 * (mode 0600: it names a mail address), replaced atomically (temp + fsync +
 * rename + directory fsync, FsyncJsonFile). `enqueue` resolves only once the
 * file is durable. Marking a channel done rewrites the file; the last one
 * records the id in the delivered journal, then removes the file.
 *
 * Delivery is at-least-once: a crash after a send and before its mark leaves
 * the file, and the notification is sent again (same id) after restart.
 * Enqueueing an id that is pending, or among the last N delivered, is a no-op,
 * so one card event never becomes two notifications.
 */
import { createHash } from 'node:crypto';
import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { silentLogger, type Logger } from '../../card-io/base/log.js';
import { FsyncJsonFile } from '../registry/fsync-json-file.js';
import { DeliveredJournal } from './delivered-journal.js';
import { ensureDirectory, removeDurably } from './durable-fs.js';
import { notificationSchema, parseNotification, type Notification } from './notification.js';

export const CHANNEL_NAMES = ['mqtt', 'smtp'] as const;
export type ChannelName = (typeof CHANNEL_NAMES)[number];

const entrySchema = z.strictObject({
  version: z.literal(1),
  notification: notificationSchema,
  enqueuedAt: z.iso.datetime(),
  /** Enqueue order, increasing across restarts (times can tie or step back). */
  order: z.number().int().min(0),
  pending: z.array(z.enum(CHANNEL_NAMES)),
  done: z.array(z.enum(CHANNEL_NAMES)),
});
type EntryFile = z.infer<typeof entrySchema>;

export interface OutboxEntry {
  readonly notification: Notification;
  /** Channels that have not acknowledged it yet. */
  readonly pending: readonly ChannelName[];
  readonly enqueuedAt: string;
}

interface Slot {
  notification: Notification;
  enqueuedAt: string;
  order: number;
  pending: Set<ChannelName>;
  done: Set<ChannelName>;
  file: FsyncJsonFile<EntryFile>;
  /** False until the first write is durable: only durable entries are delivered. */
  durable: boolean;
  /** Resolves when the first write is durable. */
  written: Promise<void>;
  /** Serializes this entry's marks. */
  queue: Promise<unknown>;
}

export interface OutboxOptions {
  /** The gateway's data directory; the outbox is `<dataDir>/outbox`. */
  dataDir: string;
  logger?: Logger;
  /** How many delivered ids are remembered for deduplication. Default 10 000. */
  deliveredCapacity?: number;
}

const ENTRY_FILE = /^[0-9a-f]{32}\.json$/;

export class Outbox {
  readonly dir: string;
  readonly #logger: Logger;
  readonly #journal: DeliveredJournal;
  readonly #slots = new Map<string, Slot>();
  readonly #listeners = new Set<() => void>();
  #nextOrder = 0;

  private constructor(dir: string, journal: DeliveredJournal, logger: Logger) {
    this.dir = dir;
    this.#journal = journal;
    this.#logger = logger;
  }

  /** Opens (creating) `<dataDir>/outbox` and reloads every pending notification. */
  static async open(options: OutboxOptions): Promise<Outbox> {
    const dir = join(options.dataDir, 'outbox');
    await ensureDirectory(dir);
    const journal = await DeliveredJournal.open(dir, options.deliveredCapacity);
    const outbox = new Outbox(dir, journal, options.logger ?? silentLogger);
    await outbox.#reload();
    return outbox;
  }

  /**
   * Records `notification` for `channels`; resolves true once the file is
   * durable, or false when the id is already pending or recently delivered
   * (then nothing is written and nothing will be sent again).
   */
  async enqueue(notification: Notification, channels: readonly ChannelName[]): Promise<boolean> {
    const n = parseNotification(notification);
    const existing = this.#slots.get(n.id);
    if (existing !== undefined) {
      await existing.written;
      return false;
    }
    if (this.#journal.has(n.id) || channels.length === 0) return false;
    const slot: Slot = {
      notification: n,
      enqueuedAt: new Date().toISOString(),
      order: this.#nextOrder++,
      pending: new Set(channels),
      done: new Set(),
      file: new FsyncJsonFile<EntryFile>(join(this.dir, `${fileStem(n.id)}.json`)),
      durable: false,
      written: Promise.resolve(),
      queue: Promise.resolve(),
    };
    this.#slots.set(n.id, slot); // before the write: a concurrent enqueue of this id waits for it
    slot.written = slot.file.write(toFile(slot));
    slot.queue = slot.written.catch(() => undefined);
    try {
      await slot.written;
    } catch (e) {
      this.#slots.delete(n.id);
      throw e;
    }
    slot.durable = true;
    this.#logger.debug({ id: n.id, channels }, 'Notification queued');
    this.#changed();
    return true;
  }

  /** Durable notifications still waiting for `channel`, oldest first. */
  pendingFor(channel: ChannelName): Notification[] {
    return this.#ordered()
      .filter((s) => s.pending.has(channel))
      .map((s) => s.notification);
  }

  entries(): OutboxEntry[] {
    return this.#ordered().map((s) => ({ notification: s.notification, pending: [...s.pending], enqueuedAt: s.enqueuedAt }));
  }

  /** Number of notifications not yet delivered on every channel. */
  get size(): number {
    return this.#slots.size;
  }

  /** Whether `id` is among the recently delivered (and removed) notifications. */
  isDelivered(id: string): boolean {
    return this.#journal.has(id);
  }

  /** Records that `channel` acknowledged `id`; removes the file once no channel is pending. */
  markDone(id: string, channel: ChannelName): Promise<void> {
    const slot = this.#slots.get(id);
    if (slot === undefined || !slot.pending.has(channel)) return Promise.resolve();
    slot.pending.delete(channel); // at once: this process never sends it on this channel again
    slot.done.add(channel);
    const run = slot.queue.then(async () => {
      if (slot.pending.size > 0) {
        await slot.file.write(toFile(slot));
      } else if (this.#slots.get(id) === slot) {
        await this.#journal.add(id); // first: a crash before the removal then only re-sends
        await removeDurably(slot.file.path);
        this.#slots.delete(id);
        this.#logger.debug({ id }, 'Notification delivered on every channel');
      }
      this.#changed();
    });
    slot.queue = run.catch(() => undefined);
    return run;
  }

  /** Calls `listener` after every enqueue and mark; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #ordered(): Slot[] {
    return [...this.#slots.values()]
      .filter((s) => s.durable)
      .sort((a, b) => a.order - b.order);
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }

  async #reload(): Promise<void> {
    for (const name of await readdir(this.dir)) {
      if (name.endsWith('.tmp') && ENTRY_FILE.test(name.slice(0, -4))) {
        // The first write of an enqueue that never resolved: its caller was not told it was queued.
        await removeDurably(join(this.dir, name));
        continue;
      }
      if (!ENTRY_FILE.test(name)) continue;
      await this.#reloadEntry(join(this.dir, name));
    }
    if (this.#slots.size > 0) this.#logger.info({ pending: this.#slots.size }, 'Outbox reloaded pending notifications');
  }

  async #reloadEntry(path: string): Promise<void> {
    const file = new FsyncJsonFile<EntryFile>(path, { parse: (v) => entrySchema.parse(v), logger: this.#logger });
    let entry: EntryFile | null;
    try {
      entry = await file.read();
    } catch (e) {
      // Never deleted: it may be the only copy of a notification. Moved aside so it does not block the rest.
      this.#logger.error({ path, err: (e as Error).message }, 'Unreadable outbox entry moved aside to .corrupt');
      await rename(path, `${path}.corrupt`);
      return;
    }
    if (entry === null) return;
    const { notification, pending, done, enqueuedAt, order } = entry;
    if (pending.length === 0 || this.#journal.has(notification.id)) {
      await this.#journal.add(notification.id); // delivered; the crash came before the removal
      await removeDurably(path);
      return;
    }
    this.#nextOrder = Math.max(this.#nextOrder, order + 1);
    this.#slots.set(notification.id, {
      notification,
      enqueuedAt,
      order,
      pending: new Set(pending),
      done: new Set(done),
      file,
      durable: true,
      written: Promise.resolve(),
      queue: Promise.resolve(),
    });
  }
}

function fileStem(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 32);
}

function toFile(slot: Slot): EntryFile {
  const { notification, enqueuedAt, order } = slot;
  return { version: 1, notification, enqueuedAt, order, pending: [...slot.pending], done: [...slot.done] };
}
