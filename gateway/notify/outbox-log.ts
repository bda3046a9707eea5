/**
 * The outbox on disk: one record log (card-io/base/durable/record-log.ts,
 * `<crc32> <json>\n`) at `<dataDir>/outbox/outbox.log`, mode 0600 (it names
 * mail addresses). Three kinds of record:
 *
 *   {"add": <notification>, "channels": [...], "at": <ISO time>}
 *       queued for these channels (written and fsynced before enqueue resolves)
 *   {"done": <id>, "channel": "mqtt"|"smtp"}
 *       that channel acknowledged it; when no channel is left it is delivered
 *   {"delivered": <id>}
 *       only in a compacted log: an id delivered earlier, remembered so that
 *       enqueueing it again is a no-op (the last `capacity` ones, oldest first)
 *
 * The state is the replay of the records in order; this module owns that
 * replay so the outbox and `homegate doctor` read the log the same way.
 */
import { z } from 'zod';
import { notificationSchema, type Notification } from './notification.js';

export const CHANNEL_NAMES = ['mqtt', 'smtp'] as const;
export type ChannelName = (typeof CHANNEL_NAMES)[number];

export const OUTBOX_LOG = 'outbox.log';

const channel = z.enum(CHANNEL_NAMES);
const recordSchema = z.union([
  z.strictObject({ add: notificationSchema, channels: z.array(channel).min(1), at: z.iso.datetime() }),
  z.strictObject({ done: z.string().min(1), channel }),
  z.strictObject({ delivered: z.string().min(1) }),
]);
export type OutboxRecord = z.infer<typeof recordSchema>;

/** For RecordLog.open: throws (the line then counts as damaged) when the record is not an outbox record. */
export function parseOutboxRecord(value: unknown): OutboxRecord {
  return recordSchema.parse(value);
}

export interface PendingEntry {
  notification: Notification;
  enqueuedAt: string;
  /** Enqueue order (times can tie or step back). */
  order: number;
  pending: Set<ChannelName>;
}

/** What the records say: pending notifications in enqueue order, and the remembered delivered ids. */
export class OutboxState {
  readonly pending = new Map<string, PendingEntry>();
  readonly #delivered = new Set<string>();
  #nextOrder = 0;

  constructor(readonly capacity: number) {}

  isDelivered(id: string): boolean {
    return this.#delivered.has(id);
  }

  /** Delivered ids, oldest first. */
  delivered(): string[] {
    return [...this.#delivered];
  }

  /** Pending entries, oldest first. */
  ordered(): PendingEntry[] {
    return [...this.pending.values()].sort((a, b) => a.order - b.order);
  }

  apply(r: OutboxRecord): void {
    if ('add' in r) this.add(r.add, r.channels, r.at);
    else if ('done' in r) this.done(r.done, r.channel);
    else this.remember(r.delivered);
  }

  add(notification: Notification, channels: readonly ChannelName[], at: string): PendingEntry {
    // The writer adds only an id neither pending nor remembered; one that fell out of the memory may come back.
    this.#delivered.delete(notification.id);
    const entry = { notification, enqueuedAt: at, order: this.#nextOrder++, pending: new Set(channels) };
    this.pending.set(notification.id, entry);
    return entry;
  }

  /**
   * Marks `channel` done for `id`; true when that was the last pending
   * channel (the id is then delivered). A done for an id or channel no longer
   * pending is a no-op: a compaction may already hold it.
   */
  done(id: string, ch: ChannelName): boolean {
    const entry = this.pending.get(id);
    if (entry === undefined || !entry.pending.delete(ch)) return false;
    if (entry.pending.size > 0) return false;
    this.pending.delete(id);
    this.remember(id);
    return true;
  }

  remember(id: string): void {
    this.#delivered.delete(id); // re-inserted as the newest
    this.#delivered.add(id);
    if (this.#delivered.size > this.capacity) {
      const oldest = this.#delivered.values().next().value as string;
      this.#delivered.delete(oldest);
    }
  }

  /** The records of a compacted log holding this state: remembered ids, then pending entries in order. */
  compacted(include: (e: PendingEntry) => boolean = () => true): OutboxRecord[] {
    return [
      ...this.delivered().map((delivered) => ({ delivered })),
      ...this.ordered()
        .filter(include)
        .map((e) => ({ add: e.notification, channels: [...e.pending], at: e.enqueuedAt })),
    ];
  }
}
