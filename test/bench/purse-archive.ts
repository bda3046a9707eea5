/**
 * A synthetic purse history for the purse benchmark: N archived records
 * with the fields the e-money manager writes (decisions with their signed
 * record, cancels, loads), spread over the months before now at a constant
 * monthly activity, so that a bigger archive is an OLDER household, not a
 * busier month.
 *
 * Layout (newest first): the current month holds `perMonth / 2` records (a
 * payment happens mid-month on average), each earlier month `perMonth`, the
 * oldest month what is left. A card serves 36 months, then the household's
 * next card takes over (new card id, counter from 1). Mix: ~88 % decisions
 * (3 % of them cancelled later: status 'cancelled' plus a 'cancel' entry),
 * ~9 % loads. The current month has no loads: loads of the current month
 * count towards the household's monthly top-up limit, and the benchmark's
 * own top-ups must still fit in it when the archive sits under a running
 * gateway.
 *
 * Signed records are encoded as the card does (E1 { DF50 .. DF56 } ‖ DF5E,
 * E2 { DF57 .. DF41 } ‖ DF5E); the DF5E value is random bytes of a DER
 * ECDSA P-256 signature's length (70..72): the store never verifies them.
 *
 * Written in the store's own month format, one record log per month
 * (`<dir>/<YYYY-MM>.jsonl`, one `put` record per entry, written in one go
 * rather than 100 000 fsynced appends). The index is left to
 * HistoryStore.open, which rebuilds it from the month files with the store's
 * code (and validates every entry while doing so).
 */
import { mkdir } from 'node:fs/promises';
import { encodeTlv, encodeTlvs } from '../../card-io/apdu/tlv.js';
import { PurseTag, encodeAmount, encodeCardId, encodeCurrency, encodeOrderId, encodeSeq } from '../../card-io/home-card/purse-encoding.js';
import { checkEntry, type HistoryEntry, type NewHistoryEntry } from '../../gateway/history/history-entry.js';
import { monthLogPath, type PartitionRecord } from '../../gateway/history/history-partition.js';
import { RecordLog } from '../../card-io/base/durable/record-log.js';
import type { SeededRandom } from '../helpers/seeded-random.js';

export const CARD_LIFETIME_MONTHS = 36;
const MARKETS = ['shop.greengrocer.example', 'market.bakery.example', 'pay.pharmacy.example', 'checkout.bookshop.example', 'orders.hardware.example'] as const;
const CURRENCY = 'EUR';

export interface ArchiveSpec {
  /** Records in the archive. */
  records: number;
  /** Records per full month. */
  perMonth: number;
  /** "Now": the current month is the one of this time. */
  now: Date;
  random: SeededRandom;
}

export interface BuiltArchive {
  dir: string;
  records: number;
  months: number;
  oldestMonth: string;
  /** Records in the current month's partition. */
  currentMonthRecords: number;
  /** Card ids, oldest card first; the last one is the card in use at `now`. */
  cardIds: string[];
  /** The card in use and its next transaction counter: what a next payment would carry. */
  next: { cardId: string; seq: number };
  partitionFileBytes: number;
  buildMs: number;
}

interface MonthPlan {
  month: string;
  start: number;
  end: number;
  count: number;
  monthsAgo: number;
}

/** `YYYY-MM` of a UTC month start. */
function monthName(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

function monthStart(now: Date, monthsAgo: number): number {
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - monthsAgo, 1);
}

/** Oldest month first. */
function planMonths(spec: ArchiveSpec): MonthPlan[] {
  const plans: MonthPlan[] = [];
  let left = spec.records;
  for (let monthsAgo = 0; left > 0; monthsAgo++) {
    const start = monthStart(spec.now, monthsAgo);
    if (start < 0)
      throw new Error(
        `${spec.records} records at ${spec.perMonth} a month would reach back before 1970 (the card's time is unsigned); raise ` +
          `HOMEGATE_BENCH_ARCHIVE_PER_MONTH`,
      );
    const end = monthsAgo === 0 ? spec.now.getTime() - 1000 : monthStart(spec.now, monthsAgo - 1) - 1000;
    const count = Math.min(left, monthsAgo === 0 ? Math.max(1, Math.floor(spec.perMonth / 2)) : spec.perMonth);
    plans.push({ month: monthName(start), start, end: Math.max(start, end), count, monthsAgo });
    left -= count;
  }
  return plans.reverse();
}

function hex(random: SeededRandom, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += random.int(0, 255).toString(16).padStart(2, '0');
  return s;
}

function fakeSignature(random: SeededRandom): Buffer {
  const length = random.int(70, 72);
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = random.int(0, 255);
  b[0] = 0x30;
  b[1] = length - 2;
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

function signedDecision(
  random: SeededRandom,
  r: { seq: number; cardId: string; market: string; orderId: string; amount: number; time: number; status: 'paid' | 'cancelled' },
): string {
  const record = encodeTlvs([
    [PurseTag.Seq, encodeSeq(r.seq)],
    [PurseTag.CardId, encodeCardId(r.cardId)],
    [PurseTag.Market, Buffer.from(r.market, 'utf8')],
    [PurseTag.OrderId, encodeOrderId(r.orderId)],
    [PurseTag.Amount, encodeAmount(r.amount, 'amount')],
    [PurseTag.Currency, encodeCurrency(CURRENCY)],
    [PurseTag.Time, u64(Math.floor(r.time / 1000))],
    [PurseTag.Status, Buffer.from([r.status === 'paid' ? 0x01 : 0x02])],
  ]);
  return Buffer.concat([encodeTlv(PurseTag.SignedRecord, record), encodeTlv(PurseTag.Signature, fakeSignature(random))]).toString('base64');
}

function signedLoad(random: SeededRandom, r: { cardId: string; counter: number; amount: number; balance: number }): string {
  const receipt = encodeTlvs([
    [PurseTag.CardId, encodeCardId(r.cardId)],
    [PurseTag.Seq, encodeSeq(r.counter)],
    [PurseTag.Amount, encodeAmount(r.amount, 'amount')],
    [PurseTag.Currency, encodeCurrency(CURRENCY)],
    [PurseTag.Challenge, Buffer.from(hex(random, 16), 'hex')],
    [PurseTag.Balance, encodeAmount(r.balance, 'balance')],
  ]);
  return Buffer.concat([encodeTlv(PurseTag.LoadReceipt, receipt), encodeTlv(PurseTag.Signature, fakeSignature(random))]).toString('base64');
}

function orderIdFor(random: SeededRandom, market: string, time: number): string {
  switch (MARKETS.indexOf(market as (typeof MARKETS)[number])) {
    case 0:
      return `ord-${hex(random, 12)}`;
    case 1:
      return `B${new Date(time).toISOString().slice(0, 10).replaceAll('-', '')}-${random.int(1, 9999).toString().padStart(4, '0')}`;
    case 2: {
      const h = hex(random, 16);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
    }
    case 3:
      return `ORDER-${random.int(100000, 999999)}`;
    default:
      return `hw_${hex(random, 8)}`;
  }
}

/** A realistic purchase amount in cents: mostly small, sometimes up to ~120 EUR. */
function purchaseAmount(random: SeededRandom): number {
  return Math.round(Math.exp(Math.log(150) + random.next() * (Math.log(12_000) - Math.log(150))));
}

/** Builds the archive's month files in `dir` (created; must hold no history yet). */
export async function buildArchive(dir: string, spec: ArchiveSpec): Promise<BuiltArchive> {
  const t0 = process.hrtime.bigint();
  const { random } = spec;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const plans = planMonths(spec);
  const terminals = [hex(random, 8), hex(random, 8), hex(random, 8)];
  const cardIds: string[] = [];
  const cardFor = new Map<number, { cardId: string; counter: number; balance: number }>();
  const card = (monthsAgo: number) => {
    const generation = Math.floor(monthsAgo / CARD_LIFETIME_MONTHS);
    let c = cardFor.get(generation);
    if (!c) {
      c = { cardId: hex(random, 8), counter: 0, balance: 10_000 };
      cardFor.set(generation, c);
      cardIds.push(c.cardId);
    }
    return c;
  };
  let written = 0;
  let partitionFileBytes = 0;
  for (const plan of plans) {
    const times = Array.from({ length: plan.count }, () => plan.start + Math.floor(random.next() * (plan.end - plan.start))).sort((a, b) => a - b);
    const entries: NewHistoryEntry[] = [];
    for (let i = 0; entries.length < plan.count; i++) {
      const time = times[Math.min(i, times.length - 1)]!;
      const c = card(plan.monthsAgo);
      const terminalId = random.pick(terminals);
      const archivedAt = new Date(time + random.int(5, 1500)).toISOString();
      const loadNow = plan.monthsAgo > 0 && (random.next() < 0.09 || c.balance < 2_000);
      if (loadNow) {
        const amount = random.pick([2_000, 5_000, 5_000, 10_000]);
        c.counter += 1;
        c.balance += amount;
        entries.push({
          kind: 'load',
          cardId: c.cardId,
          seq: c.counter,
          amount,
          currency: CURRENCY,
          time: new Date(time).toISOString(),
          terminalId,
          signedRecord: signedLoad(random, { cardId: c.cardId, counter: c.counter, amount, balance: c.balance }),
          archivedAt,
        });
        continue;
      }
      const market = random.pick(MARKETS);
      const amount = Math.min(purchaseAmount(random), Math.max(100, c.balance));
      c.counter += 1;
      c.balance = Math.max(0, c.balance - amount);
      const orderId = orderIdFor(random, market, time);
      const cancelled = entries.length + 1 < plan.count && random.next() < 0.03;
      const base = { cardId: c.cardId, seq: c.counter, market, orderId, amount, currency: CURRENCY, terminalId };
      const status = cancelled ? 'cancelled' : 'paid';
      entries.push({
        kind: 'decision',
        ...base,
        time: new Date(time).toISOString(),
        status,
        signedRecord: signedDecision(random, { ...base, time, status }),
        presented: true,
        archivedAt,
      });
      if (cancelled) {
        const cancelTime = Math.min(time + random.int(60_000, 3_600_000), plan.end);
        c.balance += amount;
        entries.push({
          kind: 'cancel',
          ...base,
          time: new Date(cancelTime).toISOString(),
          status: 'cancelled',
          signedRecord: signedDecision(random, { ...base, time, status: 'cancelled' }),
          archivedAt: new Date(cancelTime + random.int(5, 1500)).toISOString(),
        });
      }
    }
    entries.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)); // archive order is time order; stable: a decision before its cancel
    // The store's own validation and normalization, then its partition format through its file adapter.
    const checked: HistoryEntry[] = entries.map((e) => checkEntry(e, Date.now));
    const { log } = await RecordLog.open<PartitionRecord>(monthLogPath(dir, plan.month));
    partitionFileBytes += await log.compact(checked.map((put) => ({ put })));
    written += checked.length;
  }
  const current = card(0);
  return {
    dir,
    records: written,
    months: plans.length,
    oldestMonth: plans[0]!.month,
    currentMonthRecords: plans.at(-1)!.month === monthName(monthStart(spec.now, 0)) ? plans.at(-1)!.count : 0,
    cardIds,
    next: { cardId: current.cardId, seq: current.counter + 1 },
    partitionFileBytes,
    buildMs: Number(process.hrtime.bigint() - t0) / 1e6,
  };
}

/** A payment's history entry as the e-money manager appends it (decision, presented: false), for `card` at `now`. */
export function paymentEntry(random: SeededRandom, next: { cardId: string; seq: number }, terminalId: string, now: Date): NewHistoryEntry {
  const market = MARKETS[0];
  const orderId = orderIdFor(random, market, now.getTime());
  const base = { cardId: next.cardId, seq: next.seq, market, orderId, amount: 450, currency: CURRENCY, terminalId };
  const time = Math.floor(now.getTime() / 1000) * 1000;
  return {
    kind: 'decision',
    ...base,
    time: new Date(time).toISOString(),
    status: 'paid',
    signedRecord: signedDecision(random, { ...base, time, status: 'paid' }),
    presented: false,
  };
}
