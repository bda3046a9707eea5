/**
 * PAY on the reference card through the HomeCard driver (PROTOCOL.md,
 * "Purse", claim 4): conditions, debit, signed record, limits, days, time
 * rollback, and that a refused or failed PAY changes nothing.
 */
import test from 'ava';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { verifySignedRecord } from '../../card-io/home-card/index.js';
import {
  CURRENCY,
  DAY,
  DAY0,
  INITIAL_BALANCE,
  LIMITS,
  MARKET,
  PINS,
  imageBytes,
  memoryStore,
  payAt,
  purseFixture,
  releaseForMarket,
} from './purse-fixtures.js';

const T = DAY0 + 3600;

test('Personalization with purse parameters and an initial balance shows them in the purse status', async (t) => {
  const { card } = await purseFixture(t);
  t.deepEqual(await card.purseStatus(), {
    balance: INITIAL_BALANCE,
    currency: CURRENCY,
    counter: 0,
    maxBalance: LIMITS.maxBalance,
    perPaymentLimit: LIMITS.perPaymentLimit,
    dailyLimit: LIMITS.dailyLimit,
    spentToday: 0,
    perLoadLimit: LIMITS.maxBalance,
  });
  t.deepEqual(await card.logSeqs(), []);
});

test('Amounts above 2^53 - 1 come back as bigint, smaller ones as number', async (t) => {
  const big = 2n ** 60n;
  const { card } = await purseFixture(t, { storage: 'memory', purse: { maxBalance: big, initialBalance: big - 1n } });
  const status = await card.purseStatus();
  t.is(status.maxBalance, big);
  t.is(status.balance, big - 1n);
  t.is(status.perPaymentLimit, LIMITS.perPaymentLimit);
});

test('PAY without the PIN2 release is refused (6982) and without a verified market (6985); neither changes the image', async (t) => {
  const fx = await purseFixture(t);
  const before = await imageBytes(fx);
  const order = { orderId: 'o-1', amount: 100, agreedAmount: 100, currency: CURRENCY, time: new Date(T * 1000) };
  await fx.card.verifyPin1(PINS.pin1);
  const notReleased = await t.throwsAsync(fx.card.pay(order));
  t.true(isCardError(notReleased, CardErrorCode.SecurityStatusNotSatisfied));
  await fx.card.verifyPin2(PINS.pin2);
  const noMarket = await t.throwsAsync(fx.card.pay(order));
  t.true(isCardError(noMarket, CardErrorCode.ConditionsNotSatisfied));
  t.deepEqual(await imageBytes(fx), before);
});

test('PAY debits, answers a record signed by the card key, and uses up the release', async (t) => {
  const fx = await purseFixture(t);
  await fx.card.verifyPin1(PINS.pin1);
  const record = await payAt(fx, 1234, T, 'order-42');
  t.like(record, { seq: 1, cardId: fx.cardId, market: MARKET, orderId: 'order-42', amount: 1234, currency: CURRENCY, status: 'paid' });
  t.is(record.time.getTime(), T * 1000);
  t.true(verifySignedRecord(record, fx.cardKey), 'the signature verifies with the card key');
  t.like(await fx.card.purseStatus(), { balance: INITIAL_BALANCE - 1234, counter: 1, spentToday: 1234 });
  t.deepEqual(await fx.card.logSeqs(), [1]);
  t.deepEqual((await fx.card.readRecord(1)).bytes, record.bytes);

  const again = await t.throwsAsync(fx.card.pay({ orderId: 'o-2', amount: 1, agreedAmount: 1, currency: CURRENCY, time: new Date(T * 1000) }));
  t.true(isCardError(again, CardErrorCode.SecurityStatusNotSatisfied), 'the release was used up');
});

test('A payment over the balance is InsufficientFunds (6910) and leaves the image bytes unchanged', async (t) => {
  const fx = await purseFixture(t, { purse: { initialBalance: 3_000 } });
  await fx.card.verifyPin1(PINS.pin1);
  const before = await imageBytes(fx);
  const e = await t.throwsAsync(payAt(fx, 3_001, T));
  t.true(isCardError(e, CardErrorCode.InsufficientFunds));
  t.is(isCardError(e) ? e.sw : undefined, 0x6910);
  t.deepEqual(await imageBytes(fx), before);
  t.like(await fx.card.purseStatus(), { balance: 3_000, counter: 0 });
});

test('A payment over the per-payment or the daily limit is LimitExceeded (6911) and leaves the image bytes unchanged', async (t) => {
  const fx = await purseFixture(t);
  await fx.card.verifyPin1(PINS.pin1);
  const perPayment = await t.throwsAsync(payAt(fx, LIMITS.perPaymentLimit + 1, T));
  t.true(isCardError(perPayment, CardErrorCode.LimitExceeded));
  t.is(isCardError(perPayment) ? perPayment.sw : undefined, 0x6911);

  await payAt(fx, 5_000, T);
  await payAt(fx, 5_000, T + 60);
  const before = await imageBytes(fx);
  const daily = await t.throwsAsync(payAt(fx, 2_001, T + 120), undefined, '12,000 a day: 10,000 spent');
  t.true(isCardError(daily, CardErrorCode.LimitExceeded));
  t.deepEqual(await imageBytes(fx), before);
  await payAt(fx, 2_000, T + 180);
  t.like(await fx.card.purseStatus(), { spentToday: LIMITS.dailyLimit, balance: INITIAL_BALANCE - LIMITS.dailyLimit });
});

test('A new day resets the amount spent today', async (t) => {
  const fx = await purseFixture(t);
  await fx.card.verifyPin1(PINS.pin1);
  await payAt(fx, 5_000, DAY0 + 100);
  await payAt(fx, 5_000, DAY0 + 200);
  await t.throwsAsync(payAt(fx, 5_000, DAY0 + DAY - 10), { code: CardErrorCode.LimitExceeded });
  await payAt(fx, 5_000, DAY0 + DAY + 10);
  t.like(await fx.card.purseStatus(), { spentToday: 5_000, counter: 3, balance: INITIAL_BALANCE - 15_000 });
});

test('Going back up to 300 s across midnight still counts against the latest day', async (t) => {
  const fx = await purseFixture(t);
  await fx.card.verifyPin1(PINS.pin1);
  await payAt(fx, 5_000, DAY0 + DAY + 5);
  await payAt(fx, 5_000, DAY0 + DAY - 5);
  await t.throwsAsync(payAt(fx, 5_000, DAY0 + DAY - 4), { code: CardErrorCode.LimitExceeded });
  t.like(await fx.card.purseStatus(), { spentToday: 10_000 });
});

test('A PAY time rolled back more than 300 s is refused (6A80) and changes nothing; 300 s back is accepted', async (t) => {
  const fx = await purseFixture(t);
  await fx.card.verifyPin1(PINS.pin1);
  await payAt(fx, 100, T);
  const before = await imageBytes(fx);
  const e = await t.throwsAsync(payAt(fx, 100, T - 301));
  t.true(isCardError(e, CardErrorCode.WrongData));
  t.deepEqual(await imageBytes(fx), before);
  const record = await payAt(fx, 100, T - 300);
  t.is(record.seq, 2);
});

test('PAY in another currency is refused (6A80)', async (t) => {
  const fx = await purseFixture(t);
  await fx.card.verifyPin1(PINS.pin1);
  await releaseForMarket(fx, T);
  const e = await t.throwsAsync(fx.card.pay({ orderId: 'o', amount: 10, agreedAmount: 10, currency: 'USD', time: new Date(T * 1000) }));
  t.true(isCardError(e, CardErrorCode.WrongData));
});

test('A failed image write during PAY answers 6581 and changes neither balance, counter, log nor release', async (t) => {
  const fx = await purseFixture(t, { storage: 'memory' });
  await fx.card.verifyPin1(PINS.pin1);
  await releaseForMarket(fx, T);
  const before = memoryStore(fx).state;
  memoryStore(fx).failCommits = true;
  const order = { orderId: 'o-6581', amount: 700, agreedAmount: 700, currency: CURRENCY, time: new Date(T * 1000) };
  const e = await t.throwsAsync(fx.card.pay(order));
  t.is(e && isCardError(e) ? e.sw : undefined, 0x6581);
  t.is(memoryStore(fx).state, before, 'the committed state object is the same');
  memoryStore(fx).failCommits = false;
  t.like(await fx.card.purseStatus(), { balance: INITIAL_BALANCE, counter: 0, spentToday: 0 });
  t.deepEqual(await fx.card.logSeqs(), []);
  const record = await fx.card.pay(order);
  t.like(record, { seq: 1, amount: 700 });
  t.like(await fx.card.purseStatus(), { balance: INITIAL_BALANCE - 700, counter: 1 });
});
