/**
 * The campaign's invariant checker on crafted states: a sound state passes,
 * and each kind of money fault the campaign hunts for is named.
 */
import test from 'ava';
import {
  checkInvariants,
  notificationId,
  type ArchivedEvent,
  type CardDecision,
  type MailSeen,
  type MoneyState,
  type ViolationKind,
} from './money-invariants.js';

const CARD = '0011223344556677';
const M = 'market.example';

const decision = (seq: number, orderId: string, amount: number, status: 'paid' | 'cancelled' = 'paid'): CardDecision => ({
  seq,
  market: M,
  orderId,
  amount,
  status,
});
const archived = (d: CardDecision): ArchivedEvent => ({ kind: 'decision', ...d });
const load = (seq: number, amount: number): ArchivedEvent => ({ kind: 'load', seq, amount });
const cancel = (d: CardDecision): ArchivedEvent => ({ kind: 'cancel', seq: d.seq, amount: d.amount, market: M, orderId: d.orderId, status: 'cancelled' });
function mailOf(e: ArchivedEvent): MailSeen {
  return { id: notificationId(CARD, e), type: e.kind === 'load' ? 'topup' : e.kind, about: e.kind === 'load' ? String(e.seq) : `${M}|${e.orderId}` };
}

/**
 * Start 10000 on the card, 1000000 at the issuer; counter 5 before.
 * #6 pay A 450, #7 load 2000, #8 pay B 790, #9 cancel of #8: balance 10000 + 2000 − 450 = 11550.
 */
function sound(): MoneyState {
  const a = decision(6, 'A', 450);
  const b = decision(8, 'B', 790, 'cancelled');
  const archive = [archived(a), load(7, 2000), archived(b), cancel(b)];
  return {
    cardId: CARD,
    initialBalance: 10_000,
    initialCounter: 5,
    card: { balance: 11_550, counter: 9 },
    cardDecisions: [a, b],
    archive,
    issuer: { initialBalance: 1_000_000, balance: 998_000 },
    mail: archive.map(mailOf),
  };
}

const kinds = (s: MoneyState): ViolationKind[] => [...new Set(checkInvariants(s).map((v) => v.kind))].sort();

test('When every transaction is on the card, archived once, mailed once and debited once at the issuer, the checker finds nothing', (t) => {
  t.deepEqual(checkInvariants(sound()), []);
});

test('When a QoS 1 redelivery repeats a notification id, the checker does not count it as a second mail', (t) => {
  const s = sound();
  t.deepEqual(checkInvariants({ ...s, mail: [...s.mail, s.mail[0]!] }), []);
});

test('When the card paid the same order twice (a double debit), the checker reports the order paid twice', (t) => {
  const s = sound();
  const again = decision(10, 'A', 450);
  const archive = [...s.archive, archived(again)];
  const state = { ...s, card: { balance: 11_100, counter: 10 }, cardDecisions: [...s.cardDecisions, again], archive, mail: archive.map(mailOf) };
  t.true(kinds(state).includes('order-paid-twice'));
  t.true(checkInvariants(state).some((v) => v.kind === 'order-paid-twice' && v.detail.includes('#6, #10')));
});

test('When a load reached the card but not the archive (a lost load), the checker reports the balance not conserved and the transaction not archived', (t) => {
  const s = sound();
  const state = { ...s, card: { balance: 13_550, counter: 10 }, issuer: { ...s.issuer, balance: 996_000 } };
  t.deepEqual(kinds(state), ['balance-not-conserved', 'transaction-not-archived']);
});

test('When the issuer debited the account but the card never received the load, the checker reports an issuer debit without a load', (t) => {
  const s = sound();
  t.deepEqual(kinds({ ...s, issuer: { ...s.issuer, balance: 995_000 } }), ['issuer-debit-without-load']);
});

test('When the card was loaded with more than the issuer debited, the checker reports a load without an issuer debit', (t) => {
  const s = sound();
  t.deepEqual(kinds({ ...s, issuer: { ...s.issuer, balance: 999_000 } }), ['load-without-issuer-debit']);
});

test('When a record is archived twice, the checker reports it', (t) => {
  const s = sound();
  const state = { ...s, archive: [...s.archive, s.archive[1]!] };
  t.true(kinds(state).includes('archived-twice'));
  t.true(checkInvariants(state).some((v) => v.kind === 'archived-twice' && v.detail.startsWith('load:7')));
});

test('When an archived record was never mailed, the checker reports it not mailed', (t) => {
  const s = sound();
  const state = { ...s, mail: s.mail.slice(1) };
  t.deepEqual(kinds(state), ['not-mailed']);
  t.true(checkInvariants(state)[0]!.detail.startsWith(`${CARD}:decision:6`));
});

test('When one event is mailed under two notification ids, or a mail names no archived event, the checker reports both', (t) => {
  const s = sound();
  const twice: MailSeen = { ...s.mail[0]!, id: `${CARD}:decision:99` };
  t.deepEqual(kinds({ ...s, mail: [...s.mail, twice] }), ['mail-without-event', 'mailed-twice']);
});

test('When the card shows a decision the archive lacks, or a cancel the archive does not know, the checker reports each', (t) => {
  const s = sound();
  const archive = s.archive.filter((e) => !(e.kind === 'decision' && e.seq === 6));
  t.true(kinds({ ...s, archive, mail: archive.map(mailOf) }).includes('card-decision-not-archived'));
  const noCancel = s.archive.filter((e) => e.kind !== 'cancel');
  t.true(kinds({ ...s, archive: noCancel, mail: noCancel.map(mailOf) }).includes('archived-status-differs'));
});

test('When the archive holds an event the card never counted, the checker reports it', (t) => {
  const s = sound();
  const archive = [...s.archive, load(12, 0)];
  t.deepEqual(kinds({ ...s, archive, mail: archive.map(mailOf) }), ['archived-without-transaction']);
});
