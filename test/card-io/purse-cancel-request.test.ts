/**
 * SIGN CANCEL REQUEST (PROTOCOL.md, "Purse"): the card signs a request to
 * cancel one of its PAID decisions, with the decision's fields, so a market
 * can tell the request comes from the card that paid.
 */
import { generateKeyPairSync } from 'node:crypto';
import test from 'ava';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { parseSignedCancelRequest, verifySignedCancelRequest } from '../../card-io/home-card/cancel-request.js';
import { cancelRequest, DAY0, imageBytes, MARKET, payAt, PINS, purseFixture } from './purse-fixtures.js';

const T = DAY0 + 3600;

test('When PIN1 is verified, the card signs a cancel request naming the decision, verifiable with the card key only', async (t) => {
  const fx = await purseFixture(t);
  await fx.card.verifyPin1(PINS.pin1);
  const record = await payAt(fx, 321, T, 'order-cr');
  const before = await imageBytes(fx);
  const req = await fx.card.signCancelRequest(record.seq);
  t.like(req, { cardId: fx.cardId, seq: record.seq, market: MARKET, orderId: 'order-cr', amount: 321, currency: 'EUR' });
  t.true(verifySignedCancelRequest(req, fx.cardKey));
  t.false(verifySignedCancelRequest(req, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey), 'another key does not verify it');
  const tampered = Buffer.from(req.bytes);
  tampered[tampered.indexOf(Buffer.from('order-cr'))] ^= 1;
  const parsed = parseSignedCancelRequest(tampered);
  t.false(verifySignedCancelRequest(parsed, fx.cardKey), 'an edited order id does not verify');
  t.deepEqual(await imageBytes(fx), before, 'signing changes nothing on the card');
});

test('When the decision is unknown (6A88), cancelled (6985), or PIN1 is not verified (6982), the card signs no cancel request', async (t) => {
  const fx = await purseFixture(t);
  t.true(isCardError(await t.throwsAsync(fx.card.signCancelRequest(1)), CardErrorCode.SecurityStatusNotSatisfied));
  await fx.card.verifyPin1(PINS.pin1);
  const record = await payAt(fx, 100, T, 'order-cc');
  t.true(isCardError(await t.throwsAsync(fx.card.signCancelRequest(record.seq + 1)), CardErrorCode.NotFound));
  await fx.card.cancel(cancelRequest(fx, record));
  t.true(isCardError(await t.throwsAsync(fx.card.signCancelRequest(record.seq)), CardErrorCode.ConditionsNotSatisfied));
});
