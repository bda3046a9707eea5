/**
 * Paying with the purse through the e-money manager, with the reference card
 * in memory, a market in memory and the real archive on a temporary
 * directory: one order is debited once whoever asks and however often, the
 * terminal's shown amount binds the debit, and the market's answer to a
 * presented decision is recorded. The same through processes and sockets:
 * test/e2e.
 */
import test from 'ava';
import { PeerError } from '../../gateway/emoney/https-json.js';
import type { HistoryStore } from '../../gateway/history/index.js';
import { INITIAL_BALANCE, PINS } from '../card-io/purse-fixtures.js';
import { moneyHousehold } from '../helpers/fakes/household.js';
import { answered } from '../helpers/api-refusal.js';

const EUR = (amount: number) => ({ amount, currency: 'EUR' });

async function decisions(h: { history: HistoryStore }) {
  return (await h.history.list()).filter((e) => e.kind === 'decision');
}

test(
  'When a terminal pays an open order, the card debits it once, the ' + 'decision is archived, mailed to that terminal and presented to the market',
  async (t) => {
    const h = await moneyHousehold(t);
    const kitchen = await h.terminal('kitchen');
    h.market.open('o-1', 1_250);
    const answer = await h.manager().pay(kitchen, 'shop', 'o-1', PINS.pin2, EUR(1_250));
    t.like(answer, { record: { orderId: 'o-1', amount: 1_250, market: 'shop.example', status: 'paid' }, presented: true });
    t.false('alreadyPaid' in answer);
    t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE - 1_250 });
    t.like(await decisions(h), [{ orderId: 'o-1', terminalId: kitchen.id, presented: true }]);
    t.is(h.mail.length, 1);
    t.like(h.mail[0], { type: 'decision', terminalId: kitchen.id, mail: kitchen.mail });
    t.deepEqual(h.market.presented, ['o-1']);
    t.false(h.cards.held(), 'the card is handed back');
  },
);

test('When two terminals pay the same order at the same time, the card debits it once and both get the one decision', async (t) => {
  const h = await moneyHousehold(t);
  const [a, b] = [await h.terminal('kitchen'), await h.terminal('hall')];
  h.market.open('o-2', 2_000);
  const m = h.manager();
  const [x, y] = await Promise.all([m.pay(a, 'shop', 'o-2', PINS.pin2, EUR(2_000)), m.pay(b, 'shop', 'o-2', PINS.pin2, EUR(2_000))]);
  t.is(x.record.seq, y.record.seq);
  t.deepEqual([Boolean(x.alreadyPaid), Boolean(y.alreadyPaid)].sort(), [false, true]);
  t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE - 2_000 });
  t.deepEqual(await h.fx.card.logSeqs(), [x.record.seq]);
  t.is((await decisions(h)).length, 1);
  t.is(h.mail.length, 1, 'one decision, one mail');
});

test('When an order was already paid and archived, a second pay answers that decision (alreadyPaid) without asking the market or the card again', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  h.market.open('o-3', 900);
  const m = h.manager();
  const first = await m.pay(kitchen, 'shop', 'o-3', PINS.pin2, EUR(900));
  const calls = h.market.calls.length;
  const uses = h.cards.uses;
  const again = await m.pay(kitchen, 'shop', 'o-3', 'not-a-pin', EUR(900));
  t.like(again, { record: { seq: first.record.seq, amount: 900 }, presented: true, alreadyPaid: true });
  t.is(h.market.calls.length, calls, 'neither the order nor a presentation again');
  t.is(h.cards.uses, uses, 'the card is not used');
  t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE - 900 });
});

test(
  'When the card paid but the archive was lost, a second pay from another terminal gets 6A89 ' +
    "from the card, archives the card's record once, attributed to the terminal that asked first",
  async (t) => {
    const h = await moneyHousehold(t);
    const [kitchen, hall] = [await h.terminal('kitchen'), await h.terminal('hall')];
    h.market.open('o-4', 1_000);
    // The gateway dies right after the card's PAY: the archive write never happens.
    let crash = true;
    const crashing = new Proxy(h.history, {
      get(target, prop, receiver) {
        if (prop === 'append' && crash) {
          return async () => {
            crash = false;
            throw new Error('power cut');
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    await answered(h.manager({ history: crashing }).pay(kitchen, 'shop', 'o-4', PINS.pin2, EUR(1_000)));
    t.is((await decisions(h)).length, 0);
    const answer = await h.manager().pay(hall, 'shop', 'o-4', PINS.pin2, EUR(1_000));
    t.like(answer, { alreadyPaid: true, record: { orderId: 'o-4', amount: 1_000 } });
    t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE - 1_000 });
    t.like(await decisions(h), [{ orderId: 'o-4', terminalId: kitchen.id }]);
    t.like(h.mail, [{ type: 'decision', terminalId: kitchen.id }]);
  },
);

test('When the market asks another amount than the terminal showed, the pay is refused as amount-mismatch before PIN2 reaches the card', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  h.market.open('o-5', 1_001);
  const e = await answered(h.manager().pay(kitchen, 'shop', 'o-5', PINS.pin2, EUR(1_000)));
  t.like(e, { status: 409, code: 'amount-mismatch' });
  const e2 = await answered(h.manager().pay(kitchen, 'shop', 'o-5', PINS.pin2, { amount: 1_001, currency: 'USD' }));
  t.like(e2, { status: 409, code: 'amount-mismatch' });
  t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE });
  t.like((await h.fx.card.retryCounters()).pin2, { left: 3 });
  t.deepEqual(await h.fx.card.logSeqs(), []);
  t.is(await h.intents.find('shop.example', 'o-5'), undefined, 'no intent journaled');
  t.deepEqual(h.mail, []);
});

test('When the order is not open or unknown at the market, or the market is not registered, nothing is debited and the codes say why', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  h.market.open('o-6', 500);
  h.market.orders.get('o-6')!.status = 'cancelled';
  const m = h.manager();
  t.like(await answered(m.pay(kitchen, 'shop', 'o-6', PINS.pin2, EUR(500))), { status: 409, code: 'order-not-payable' });
  t.like(await answered(m.pay(kitchen, 'shop', 'nope', PINS.pin2, EUR(500))), { status: 404, code: 'order-unknown' });
  t.like(await answered(m.pay(kitchen, 'elsewhere', 'o-6', PINS.pin2, EUR(500))), { status: 404, code: 'market-unknown' });
  t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE });
});

test('When PIN2 is wrong, the pay is refused as pin-wrong, nothing is debited or archived and the card is handed back', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  h.market.open('o-7', 500);
  const e = await answered(h.manager().pay(kitchen, 'shop', 'o-7', '000000', EUR(500)));
  t.like(e, { status: 401, code: 'pin-wrong' });
  t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE });
  t.is((await decisions(h)).length, 0);
  t.false(h.cards.held());
});

test('When the purse holds too little or the amount is over the per-payment limit, the card refuses and nothing is archived', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  h.market.open('o-8', 5_001);
  const e = await answered(h.manager().pay(kitchen, 'shop', 'o-8', PINS.pin2, EUR(5_001)));
  t.like(e, { status: 409, code: 'limit-exceeded' });
  t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE });
  t.is((await decisions(h)).length, 0);
});

test('When a terminal without an open card session pays, it is refused as card-locked; without the card, as card-absent', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  h.market.open('o-9', 500);
  await h.sessions.lock(kitchen.id);
  t.like(await answered(h.manager().pay(kitchen, 'shop', 'o-9', PINS.pin2, EUR(500))), { status: 423, code: 'card-locked' });
  h.cards.absent = true;
  t.like(await answered(h.manager().pay(kitchen, 'shop', 'o-9', PINS.pin2, EUR(500))), { status: 503, code: 'card-absent' });
  h.cards.absent = false;
  t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE });
});

test('When the market refuses a presented decision for good, the decision is marked with its code and never presented again', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  h.market.open('o-10', 700);
  h.market.presentFails = new PeerError('refused', 'closed', 409, 'order-closed');
  const m = h.manager();
  const answer = await m.pay(kitchen, 'shop', 'o-10', PINS.pin2, EUR(700));
  t.like(answer, { presented: false, marketRefused: 'order-closed' });
  t.like(await decisions(h), [{ orderId: 'o-10', presented: false, marketRefused: 'order-closed' }]);
  h.market.presentFails = undefined;
  t.is(await m.presentPending(), 0);
  t.like(await m.pay(kitchen, 'shop', 'o-10', PINS.pin2, EUR(700)), { alreadyPaid: true, presented: false, marketRefused: 'order-closed' });
  t.deepEqual(h.market.presented, [], 'the refused decision is not presented again');
});

test('When the market is down or answers 5xx or 401, the decision stays pending and presentPending presents it once the market answers', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  const m = h.manager();
  const failures = [new PeerError('unreachable', 'down'), new PeerError('refused', 'busy', 503), new PeerError('refused', 'who', 401, 'unauthorized')];
  for (const [i, failure] of failures.entries()) {
    h.market.open(`p-${i}`, 100);
    h.market.presentFails = failure;
    t.like(await m.pay(kitchen, 'shop', `p-${i}`, PINS.pin2, EUR(100)), { presented: false });
  }
  t.true((await decisions(h)).every((e) => e.presented === false && e.marketRefused === undefined));
  t.is(await m.presentPending(), 0, 'still down');
  h.market.presentFails = undefined;
  t.is(await m.presentPending(), 3);
  t.deepEqual(h.market.presented.sort(), ['p-0', 'p-1', 'p-2']);
  t.true((await decisions(h)).every((e) => e.presented === true));
  t.is(await m.presentPending(), 0, 'nothing left to present');
});

test("When an older pending decision is missing from a listing of entries, presentPending still presents it from the store's pending index", async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  h.market.open('o-11', 300);
  h.market.presentFails = new PeerError('timeout', 'slow');
  await h.manager().pay(kitchen, 'shop', 'o-11', PINS.pin2, EUR(300));
  h.market.presentFails = undefined;
  // A listing that would only show the newest entries (a busy month) must not hide an older pending decision.
  const listing = new Proxy(h.history, {
    get(target, prop, receiver) {
      if (prop === 'list') return async () => [];
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  t.is(await h.manager({ history: listing }).presentPending(), 1);
  t.deepEqual(h.market.presented, ['o-11']);
});
