/**
 * Cancelling a payment decision through the e-money manager (API.md, "Whose
 * decision"): only the terminal that paid or an owner terminal may; the card
 * signs the request, the market's authorization refunds the card, and the
 * canceller and the payer are each mailed once.
 */
import test from 'ava';
import { INITIAL_BALANCE, PINS } from '../card-io/purse-fixtures.js';
import { moneyHousehold, type MoneyHousehold } from '../helpers/fakes/household.js';
import { answered } from '../helpers/api-refusal.js';

async function paid(h: MoneyHousehold, payer: { id: string; name: string; mail: string }, orderId: string, amount: number) {
  h.market.open(orderId, amount);
  return (await h.manager().pay(payer, 'shop', orderId, PINS.pin2, { amount, currency: 'EUR' })).record;
}

test(
  'When the terminal that paid cancels, the card is refunded, the ' + 'decision is marked cancelled, a cancel entry is archived and only it is mailed',
  async (t) => {
    const h = await moneyHousehold(t);
    const kitchen = await h.terminal('kitchen');
    const record = await paid(h, kitchen, 'c-1', 1_500);
    h.mail.length = 0;
    const answer = await h.manager().cancel(kitchen, record.seq);
    t.like(answer, { record: { seq: record.seq, orderId: 'c-1', status: 'cancelled' } });
    t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE });
    t.like(await h.history.get(`${h.fx.cardId}:decision:${record.seq}`), { status: 'cancelled' });
    t.like(
      (await h.history.list()).filter((e) => e.kind === 'cancel'),
      [{ seq: record.seq, terminalId: kitchen.id }],
    );
    t.is(h.mail.length, 1);
    t.like(h.mail[0], { type: 'cancel', terminalId: kitchen.id });
    t.false(h.mail[0]!.id.endsWith(':payer'), 'no payer copy when the payer cancels');
  },
);

test('When another member terminal cancels, it is refused as not-your-decision before the card or the market is asked', async (t) => {
  const h = await moneyHousehold(t);
  const [kitchen, hall] = [await h.terminal('kitchen'), await h.terminal('hall')];
  const record = await paid(h, kitchen, 'c-2', 800);
  const calls = h.market.calls.length;
  const uses = h.cards.uses;
  const e = await answered(h.manager().cancel(hall, record.seq));
  t.like(e, { status: 403, code: 'not-your-decision' });
  t.is(h.market.calls.length, calls);
  t.is(h.cards.uses, uses);
  t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE - 800 });
  t.like(await h.history.get(`${h.fx.cardId}:decision:${record.seq}`), { status: 'paid' });
});

test("When an owner terminal cancels another terminal's decision, it is refunded and the payer gets a copy of the cancel mail", async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  const parent = await h.terminal('parent', 'owner');
  const record = await paid(h, kitchen, 'c-3', 1_200);
  h.mail.length = 0;
  await h.manager().cancel(parent, record.seq);
  t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE });
  t.is(h.mail.length, 2);
  t.like(
    h.mail.find((n) => n.terminalId === parent.id),
    { type: 'cancel', mail: parent.mail },
  );
  const copy = h.mail.find((n) => n.terminalId === kitchen.id);
  t.like(copy, { type: 'cancel', mail: kitchen.mail, id: `${h.fx.cardId}:cancel:${record.seq}:payer` });
});

test(
  'When a decision is already cancelled or does not exist, the cancel is ' + 'refused (cancel-refused, decision-unknown) and nothing is refunded twice',
  async (t) => {
    const h = await moneyHousehold(t);
    const kitchen = await h.terminal('kitchen');
    const record = await paid(h, kitchen, 'c-4', 600);
    const m = h.manager();
    await m.cancel(kitchen, record.seq);
    t.like(await answered(m.cancel(kitchen, record.seq)), { status: 409, code: 'cancel-refused' });
    t.like(await answered(m.cancel(kitchen, record.seq + 100)), { status: 404, code: 'decision-unknown' });
    t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE });
    t.is((await h.history.list()).filter((e) => e.kind === 'cancel').length, 1);
  },
);

test('When a cancelled order is paid for again, the earlier decision is answered, not a second debit', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  const record = await paid(h, kitchen, 'c-5', 400);
  await h.manager().cancel(kitchen, record.seq);
  h.market.orders.get('c-5')!.status = 'open';
  const again = await h.manager().pay(kitchen, 'shop', 'c-5', PINS.pin2, { amount: 400, currency: 'EUR' });
  t.like(again, { alreadyPaid: true, record: { seq: record.seq, status: 'cancelled' } });
  t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE });
});
