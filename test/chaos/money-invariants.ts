/**
 * The money-conservation invariants of the chaos campaign, checked on one
 * observed state of the household (pure: no I/O, so the checker itself can be
 * tested on crafted states). The state is gathered only through public
 * interfaces: the card (GET DATA purse status, READ RECORD), the gateway's
 * archive, the issuer's `GET /v1/account`, and the terminal's MQTT mailbox.
 *
 * What must hold after recovery (PROTOCOL.md "Purse", PAYMENTS.md):
 *
 * - card balance = initial + loads − active (paid, not cancelled) decisions;
 * - the issuer account is debited exactly by what was loaded onto the card;
 * - every card transaction (the card's counter counts each PAY, CANCEL, LOAD)
 *   is archived exactly once, every decision the card ever showed is archived
 *   with the card's status;
 * - every archived event is mailed under exactly one notification id, and
 *   nothing is mailed that did not happen;
 * - no order (market + order id) is paid twice.
 */

export type DecisionStatus = 'paid' | 'cancelled';

/** A decision as the card showed it in READ RECORD (the latest reading of that seq). */
export interface CardDecision {
  seq: number;
  market: string;
  orderId: string;
  amount: number;
  status: DecisionStatus;
}

/** An archived event, as the gateway's history keeps it (only the fields the invariants need). */
export interface ArchivedEvent {
  kind: 'decision' | 'cancel' | 'load';
  seq: number;
  amount: number;
  market?: string;
  orderId?: string;
  status?: DecisionStatus;
}

/** A notification seen on the terminal's mail topic (redeliveries of one id included). */
export interface MailSeen {
  id: string;
  type: string;
  /** What the notification is about: `<market>|<orderId>` for decision/cancel, the load counter for topup. */
  about: string;
}

export interface MoneyState {
  cardId: string;
  initialBalance: number;
  /** The card's transaction counter before the campaign. */
  initialCounter: number;
  card: { balance: number; counter: number };
  /** Every decision the card showed during the campaign (its log keeps only the last 32). */
  cardDecisions: readonly CardDecision[];
  archive: readonly ArchivedEvent[];
  issuer: { initialBalance: number; balance: number };
  mail: readonly MailSeen[];
}

export type ViolationKind =
  | 'balance-not-conserved'
  | 'issuer-debit-without-load'
  | 'load-without-issuer-debit'
  | 'transaction-not-archived'
  | 'archived-without-transaction'
  | 'card-decision-not-archived'
  | 'archived-status-differs'
  | 'archived-twice'
  | 'order-paid-twice'
  | 'not-mailed'
  | 'mailed-twice'
  | 'mail-without-event';

export interface Violation {
  kind: ViolationKind;
  detail: string;
}

/** Violations that later recovery cannot undo (a second debit, a second archive entry, a second mail id). */
export const PERMANENT: ReadonlySet<ViolationKind> = new Set(['order-paid-twice', 'archived-twice', 'mailed-twice', 'mail-without-event']);

const eventName = (e: ArchivedEvent) => (e.kind === 'load' ? 'topup' : e.kind);

/** The notification id the gateway gives an event (README: `<card>:<event>:<seq>`). */
export function notificationId(cardId: string, e: ArchivedEvent): string {
  return `${cardId}:${eventName(e)}:${e.seq}`;
}

function aboutOf(e: ArchivedEvent): string {
  return e.kind === 'load' ? `topup|${e.seq}` : `${e.kind}|${e.market ?? ''}|${e.orderId ?? ''}`;
}

/** Decisions by seq: the archive's, with the card's reading where the card showed it (the card is authoritative). */
function decisionsBySeq(s: MoneyState): Map<number, CardDecision> {
  const m = new Map<number, CardDecision>();
  for (const e of s.archive) {
    if (e.kind === 'decision') m.set(e.seq, { seq: e.seq, market: e.market ?? '', orderId: e.orderId ?? '', amount: e.amount, status: e.status ?? 'paid' });
  }
  for (const d of s.cardDecisions) m.set(d.seq, d);
  return m;
}

function checkMoney(s: MoneyState, out: Violation[]): void {
  const decisions = [...decisionsBySeq(s).values()];
  const active = decisions.filter((d) => d.status === 'paid').reduce((a, d) => a + d.amount, 0);
  const archivedLoads = s.archive.filter((e) => e.kind === 'load').reduce((a, e) => a + e.amount, 0);
  const expected = s.initialBalance + archivedLoads - active;
  if (s.card.balance !== expected) {
    out.push({
      kind: 'balance-not-conserved',
      detail: `card balance ${s.card.balance} ≠ initial ${s.initialBalance} + archived loads ${archivedLoads} − active decisions ${active} = ${expected}`,
    });
  }
  // What the card was credited, from the card alone: the balance plus what its decisions still hold.
  const loadedOnCard = s.card.balance - s.initialBalance + active;
  const debited = s.issuer.initialBalance - s.issuer.balance;
  if (debited > loadedOnCard)
    out.push({ kind: 'issuer-debit-without-load', detail: `the issuer debited ${debited}, the card was loaded with ${loadedOnCard}` });
  if (debited < loadedOnCard)
    out.push({ kind: 'load-without-issuer-debit', detail: `the card was loaded with ${loadedOnCard}, the issuer debited only ${debited}` });
  const paidOrders = new Map<string, number[]>();
  for (const d of decisions) {
    const key = `${d.market}|${d.orderId}`;
    paidOrders.set(key, [...(paidOrders.get(key) ?? []), d.seq]);
  }
  for (const [key, seqs] of paidOrders) {
    if (seqs.length > 1) out.push({ kind: 'order-paid-twice', detail: `order ${key} has decisions #${seqs.sort((a, b) => a - b).join(', #')}` });
  }
}

function checkArchive(s: MoneyState, out: Violation[]): void {
  const byKey = new Map<string, number>();
  for (const e of s.archive) byKey.set(`${e.kind}:${e.seq}`, (byKey.get(`${e.kind}:${e.seq}`) ?? 0) + 1);
  for (const [key, n] of byKey) if (n > 1) out.push({ kind: 'archived-twice', detail: `${key} archived ${n} times` });
  const transactions = s.card.counter - s.initialCounter;
  if (transactions > byKey.size)
    out.push({ kind: 'transaction-not-archived', detail: `the card counted ${transactions} transactions, the archive holds ${byKey.size} distinct events` });
  if (transactions < byKey.size)
    out.push({
      kind: 'archived-without-transaction',
      detail: `the archive holds ${byKey.size} distinct events, the card counted ${transactions} transactions`,
    });
  for (const d of s.cardDecisions) {
    const e = s.archive.find((x) => x.kind === 'decision' && x.seq === d.seq);
    if (!e) {
      out.push({ kind: 'card-decision-not-archived', detail: `card decision #${d.seq} (order ${d.orderId}, ${d.amount}) is not archived` });
      continue;
    }
    const cancelArchived = s.archive.some((x) => x.kind === 'cancel' && x.seq === d.seq);
    if (e.status !== d.status || (d.status === 'cancelled') !== cancelArchived) {
      out.push({
        kind: 'archived-status-differs',
        detail: `card decision #${d.seq} is ${d.status}, archived as ${e.status}${cancelArchived ? ' with a cancel' : ' without a cancel'}`,
      });
    }
  }
}

function checkMail(s: MoneyState, out: Violation[]): void {
  const expected = new Map<string, ArchivedEvent>();
  for (const e of s.archive) expected.set(notificationId(s.cardId, e), e);
  const ids = new Set(s.mail.map((m) => m.id));
  for (const [id, e] of expected) if (!ids.has(id)) out.push({ kind: 'not-mailed', detail: `${id} (${aboutOf(e)}) archived, never mailed` });
  for (const id of ids) if (!expected.has(id)) out.push({ kind: 'mail-without-event', detail: `${id} mailed, no such archived event` });
  // One event, one id: the same order's decision (or the same load) mailed under two ids is a doubled notification.
  const idsByEvent = new Map<string, Set<string>>();
  for (const m of s.mail) idsByEvent.set(`${m.type}|${m.about}`, (idsByEvent.get(`${m.type}|${m.about}`) ?? new Set()).add(m.id));
  for (const [about, set] of idsByEvent) if (set.size > 1) out.push({ kind: 'mailed-twice', detail: `${about} mailed under ${[...set].join(', ')}` });
}

/** Every invariant on one state; [] when the state is sound. */
export function checkInvariants(s: MoneyState): Violation[] {
  const out: Violation[] = [];
  checkMoney(s, out);
  checkArchive(s, out);
  checkMail(s, out);
  return out;
}
