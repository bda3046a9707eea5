/**
 * What the gateway archives: every payment decision, cancel and load the card
 * made, kept after the record rolls off the card's 32-record decision log
 * (PROTOCOL.md, "Purse"). Defined here, independent of card-io's types.
 *
 * The card is authoritative for money; an entry is the gateway's copy, with
 * the card's signed record as evidence where there is one.
 */
import { z } from 'zod';
import { HistoryError } from './history-error.js';

export type HistoryKind = 'decision' | 'cancel' | 'load';
export type DecisionStatus = 'paid' | 'cancelled';

export interface HistoryEntry {
  kind: HistoryKind;
  /** The card id (DF57), hex; never contains ':'. */
  cardId: string;
  /**
   * The card's transaction counter (DF50), unsigned 32-bit. For a 'decision'
   * and a 'load' it is the counter value the card made it at; for a 'cancel'
   * it is the seq of the decision it cancels (the decision record keeps its
   * own seq after a CANCEL, and the card refuses a second cancel, so this is
   * unique per decision).
   */
  seq: number;
  /** The market's dNSName (DF51). */
  market?: string;
  /** DF52, 1..64 bytes of UTF-8. */
  orderId?: string;
  /** Minor units (DF53), a safe non-negative integer. */
  amount: number;
  /** 3 ASCII capitals (DF54). */
  currency: string;
  /** ISO 8601 UTC (normalized by `toISOString`); chooses the month partition. */
  time: string;
  status?: DecisionStatus;
  terminalId?: string;
  /** Base64 of the card's signed record (`E1`/`E2` ‖ `DF5E`). */
  signedRecord?: string;
  /** True once the market acknowledged the decision. */
  presented?: boolean;
  /**
   * The market's error code when it refused the decision for good (a 4xx,
   * e.g. record-mismatch, order-not-open): it is no longer presented, and
   * the money comes back with a cancel (the market authorizes a refund for
   * a record it did not accept, PAYMENTS.md).
   */
  marketRefused?: string;
  /**
   * A decision whose mail this entry keeps (docs/PERFORMANCE.md): false from
   * archiving until every channel acknowledged the mail, then true (at once
   * when the gateway has no notification channel). The
   * outbox holds such a mail in memory only; at start the gateway queues the
   * mail of every entry still false again. Absent on entries archived before
   * (and on reconciled ones): their mail is the durable outbox's.
   */
  mailed?: boolean;
  /** ISO 8601 UTC: when the gateway archived it. */
  archivedAt: string;
}

/** An entry as handed to `append`: the store stamps `archivedAt` when it is missing. */
export type NewHistoryEntry = Omit<HistoryEntry, 'archivedAt'> & { archivedAt?: string };

/** What `update` may change; the identity (kind, card, seq) and the time never change. */
export type HistoryPatch = Partial<Pick<HistoryEntry, 'status' | 'signedRecord' | 'presented' | 'terminalId' | 'marketRefused' | 'mailed'>>;

export type HistoryKey = `${string}:${HistoryKind}:${number}`;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const entrySchema = z.strictObject({
  kind: z.enum(['decision', 'cancel', 'load']),
  cardId: z.string().regex(/^[^:\s]{1,64}$/),
  seq: z.number().int().min(0).max(0xffff_ffff),
  market: z.string().min(1).max(253).optional(),
  orderId: z.string().min(1).max(64).optional(),
  amount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  currency: z.string().regex(/^[A-Z]{3}$/),
  time: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a date'),
  status: z.enum(['paid', 'cancelled']).optional(),
  terminalId: z.string().min(1).max(64).optional(),
  signedRecord: z.string().regex(BASE64).optional(),
  presented: z.boolean().optional(),
  marketRefused: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/)
    .optional(),
  mailed: z.boolean().optional(),
  archivedAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a date'),
});

const patchSchema = entrySchema.pick({ status: true, signedRecord: true, presented: true, terminalId: true, marketRefused: true, mailed: true });

export function historyKey(entry: Pick<HistoryEntry, 'cardId' | 'kind' | 'seq'>): HistoryKey {
  return `${entry.cardId}:${entry.kind}:${entry.seq}`;
}

/** The parts of a key, or HistoryError('invalid'). The card id is everything before the last two ':'. */
export function parseHistoryKey(key: string): { cardId: string; kind: HistoryKind; seq: number } {
  const match = /^([^:\s]+):(decision|cancel|load):(\d{1,10})$/.exec(key);
  if (!match) throw new HistoryError('invalid', `Not a history key: ${key}`, { key });
  return { cardId: match[1]!, kind: match[2] as HistoryKind, seq: Number(match[3]) };
}

/** `YYYY-MM` (UTC) of an ISO time: the entry's partition. */
export function monthOf(time: string): string {
  return new Date(time).toISOString().slice(0, 7);
}

/** A validated copy with normalized times; HistoryError('invalid') on anything else. */
export function checkEntry(entry: NewHistoryEntry, now: () => number): HistoryEntry {
  const parsed = entrySchema.safeParse({ ...withoutUndefined(entry), archivedAt: entry.archivedAt ?? new Date(now()).toISOString() });
  if (!parsed.success) {
    throw new HistoryError('invalid', 'Not a history entry', { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
  }
  const value = parsed.data as HistoryEntry;
  return { ...value, time: new Date(value.time).toISOString(), archivedAt: new Date(value.archivedAt).toISOString() };
}

/** A validated patch; fields given as undefined are dropped (they change nothing). */
export function checkPatch(patch: HistoryPatch): HistoryPatch {
  const parsed = patchSchema.safeParse(withoutUndefined(patch));
  if (!parsed.success) throw new HistoryError('invalid', 'Not a history patch', { fields: Object.keys(patch) });
  return parsed.data as HistoryPatch;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Validates the entries of a partition file as it is loaded (FsyncJsonFile `parse`). */
const entriesSchema = z.array(entrySchema);

export function parseEntries(value: unknown): HistoryEntry[] {
  return entriesSchema.parse(value) as HistoryEntry[];
}

/** Validates one archived entry (a month log's `put` record). */
export function parseEntry(value: unknown): HistoryEntry {
  return entrySchema.parse(value) as HistoryEntry;
}
