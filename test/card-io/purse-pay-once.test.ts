/**
 * One order, one debit, at the card (PROTOCOL.md, PAY: 6A89 and DF58): the
 * card itself refuses a second PAY for the same market and order, whatever
 * the gateway remembers, and refuses a PAY whose agreed amount is not the
 * amount it is asked to debit.
 */
import test from 'ava';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { CURRENCY, DAY0, imageBytes, INITIAL_BALANCE, payAt, PINS, purseFixture, releaseForMarket, reloadFromDisk } from './purse-fixtures.js';

const T = DAY0 + 3600;

test('When a second PAY names the same market and order, the card refuses it (6A89), debits once and keeps the release', async (t) => {
  const fx = await purseFixture(t);
  await fx.card.verifyPin1(PINS.pin1);
  await payAt(fx, 500, T, 'order-once');
  const before = await imageBytes(fx);
  await releaseForMarket(fx, T + 1);
  const again = { orderId: 'order-once', amount: 500, agreedAmount: 500, currency: CURRENCY, time: new Date((T + 1) * 1000) };
  t.true(isCardError(await t.throwsAsync(fx.card.pay(again)), CardErrorCode.AlreadyPaid));
  t.true(
    isCardError(await t.throwsAsync(fx.card.pay({ ...again, amount: 499, agreedAmount: 499 })), CardErrorCode.AlreadyPaid),
    'another amount changes nothing',
  );
  t.deepEqual(await imageBytes(fx), before, 'balance, counter, log and everything else unchanged');
  t.like(await fx.card.purseStatus(), { balance: INITIAL_BALANCE - 500, counter: 1 });
  const other = await fx.card.pay({ ...again, orderId: 'order-other' });
  t.like(other, { seq: 2, orderId: 'order-other' }, 'the refusal kept the release for another order');
});

test('When the card restarts from its image, it still refuses a second PAY for an order it paid', async (t) => {
  const fx = await purseFixture(t);
  await fx.card.verifyPin1(PINS.pin1);
  await payAt(fx, 700, T, 'order-restart');
  const card = await reloadFromDisk(fx);
  await card.verifyPin1(PINS.pin1);
  const restarted = { ...fx, card };
  const e = await t.throwsAsync(payAt(restarted, 700, T + 10, 'order-restart'));
  t.true(isCardError(e, CardErrorCode.AlreadyPaid));
  t.like(await card.purseStatus(), { balance: INITIAL_BALANCE - 700, counter: 1 });
});

test('When the order rolled off the 32-record log, the card still refuses to pay it again', async (t) => {
  const fx = await purseFixture(t, { storage: 'memory', purse: { initialBalance: 100_000 } });
  await fx.card.verifyPin1(PINS.pin1);
  await payAt(fx, 1, T, 'order-first');
  for (let i = 0; i < 32; i++) await payAt(fx, 1, T + 1 + i, `order-${i}`);
  t.false((await fx.card.logSeqs()).includes(1), 'the first record left the log');
  t.true(isCardError(await t.throwsAsync(payAt(fx, 1, T + 100, 'order-first')), CardErrorCode.AlreadyPaid));
});

test('When the agreed amount differs from the amount, the card refuses the PAY (6A80) and the image is unchanged', async (t) => {
  const fx = await purseFixture(t);
  await fx.card.verifyPin1(PINS.pin1);
  await releaseForMarket(fx, T);
  const before = await imageBytes(fx);
  const order = { orderId: 'order-agreed', currency: CURRENCY, time: new Date(T * 1000) };
  for (const [amount, agreedAmount] of [
    [1000, 100],
    [100, 1000],
    [100, 101],
  ] as const) {
    t.true(isCardError(await t.throwsAsync(fx.card.pay({ ...order, amount, agreedAmount })), CardErrorCode.WrongData), `${amount} vs ${agreedAmount}`);
  }
  t.deepEqual(await imageBytes(fx), before);
  t.like(await fx.card.purseStatus(), { balance: INITIAL_BALANCE, counter: 0 });
  t.like(await fx.card.pay({ ...order, amount: 100, agreedAmount: 100 }), { seq: 1, amount: 100 }, 'the same order with matching amounts is paid');
});
