/**
 * GET LOAD CHALLENGE and LOAD on the reference card (PROTOCOL.md, "Purse",
 * claim 6): the issuer's authorization, bound to a card challenge, loads
 * money once; anything else is refused and changes nothing.
 */
import test, { type ExecutionContext } from 'ava';
import { CardErrorCode, isCardError, type CardError } from '../../card-io/errors.js';
import { encodeLoadAuthorization, signAuthorization, verifyLoadReceipt } from '../../card-io/home-card/index.js';
import { generateP256KeyPair } from '../../provisioning/pki/index.js';
import { CURRENCY, INITIAL_BALANCE, LIMITS, PINS, imageBytes, loadRequest, purseFixture, type PurseFixture } from './purse-fixtures.js';

async function refusedUnchanged(t: ExecutionContext, fx: PurseFixture, run: Promise<unknown>): Promise<CardError> {
  const before = await imageBytes(fx);
  const e = await t.throwsAsync(run);
  t.deepEqual(await imageBytes(fx), before, 'the image is unchanged');
  if (!isCardError(e)) throw new Error('not a CardError');
  return e;
}

async function openCard(t: ExecutionContext): Promise<PurseFixture> {
  const fx = await purseFixture(t);
  await fx.card.verifyPin1(PINS.pin1);
  return fx;
}

test('LOAD with the card challenge and a valid issuer signature credits and answers a signed receipt', async (t) => {
  const fx = await openCard(t);
  const challenge = await fx.card.loadChallenge();
  t.is(challenge.length, 16);
  const receipt = await fx.card.load(loadRequest(fx, 7_000, challenge));
  t.like(receipt, { cardId: fx.cardId, counter: 1, amount: 7_000, currency: CURRENCY, balance: INITIAL_BALANCE + 7_000 });
  t.deepEqual(receipt.challenge, challenge);
  t.true(verifyLoadReceipt(receipt, fx.cardKey));
  t.false(verifyLoadReceipt({ ...receipt, balance: 1 }, fx.cardKey), 'an edited receipt does not verify');
  t.like(await fx.card.purseStatus(), { balance: INITIAL_BALANCE + 7_000, counter: 1 });
});

test('LOAD accepts the authorization as fields, encoded by the driver exactly as the issuer encodes them', async (t) => {
  const fx = await openCard(t);
  const challenge = await fx.card.loadChallenge();
  const fields = { cardId: fx.cardId, amount: 500, currency: CURRENCY, challenge };
  const signature = signAuthorization(encodeLoadAuthorization(fields), fx.issuerLoadKey);
  t.like(await fx.card.load({ authorization: fields, signature }), { amount: 500 });
});

test('GET LOAD CHALLENGE and LOAD need PIN1 (6982)', async (t) => {
  const fx = await purseFixture(t);
  const e = await t.throwsAsync(fx.card.loadChallenge());
  t.true(isCardError(e, CardErrorCode.SecurityStatusNotSatisfied));
});

test('A replayed load (the same authorization again, its challenge used up) is refused with no change', async (t) => {
  const fx = await openCard(t);
  const request = loadRequest(fx, 1_000, await fx.card.loadChallenge());
  await fx.card.load(request);
  const noChallenge = await refusedUnchanged(t, fx, fx.card.load(request));
  t.is(noChallenge.code, CardErrorCode.ConditionsNotSatisfied, 'no pending challenge: 6985');
  await fx.card.loadChallenge();
  const otherChallenge = await refusedUnchanged(t, fx, fx.card.load(request));
  t.is(otherChallenge.code, CardErrorCode.WrongData, 'a new challenge does not match: 6A80');
  t.like(await fx.card.purseStatus(), { balance: INITIAL_BALANCE + 1_000, counter: 1 });
});

test('An altered amount is refused (6A80), and the failed attempt uses up the challenge', async (t) => {
  const fx = await openCard(t);
  const challenge = await fx.card.loadChallenge();
  const good = loadRequest(fx, 1_000, challenge);
  const altered = encodeLoadAuthorization({ cardId: fx.cardId, amount: 9_000, currency: CURRENCY, challenge });
  const e = await refusedUnchanged(t, fx, fx.card.load({ authorization: altered, signature: good.signature }));
  t.is(e.code, CardErrorCode.WrongData);
  const late = await refusedUnchanged(t, fx, fx.card.load(good));
  t.is(late.code, CardErrorCode.ConditionsNotSatisfied, 'the challenge is gone');
});

test('A load signed by another key, for another card or in another currency is refused (6A80)', async (t) => {
  const fx = await openCard(t);
  const stranger = generateP256KeyPair().privateKey;
  const foreignKey = loadRequest(fx, 100, await fx.card.loadChallenge(), stranger);
  t.is((await refusedUnchanged(t, fx, fx.card.load(foreignKey))).code, CardErrorCode.WrongData);

  const challenge = await fx.card.loadChallenge();
  const otherCard = encodeLoadAuthorization({ cardId: '0000000000000001', amount: 100, currency: CURRENCY, challenge });
  const signed = { authorization: otherCard, signature: signAuthorization(otherCard, fx.issuerLoadKey) };
  t.is((await refusedUnchanged(t, fx, fx.card.load(signed))).code, CardErrorCode.WrongData);

  const challenge2 = await fx.card.loadChallenge();
  const usd = encodeLoadAuthorization({ cardId: fx.cardId, amount: 100, currency: 'USD', challenge: challenge2 });
  const signedUsd = { authorization: usd, signature: signAuthorization(usd, fx.issuerLoadKey) };
  t.is((await refusedUnchanged(t, fx, fx.card.load(signedUsd))).code, CardErrorCode.WrongData);
});

test('A load over the maximum balance is LimitExceeded (6911) and changes nothing; up to the maximum is accepted', async (t) => {
  const fx = await openCard(t);
  const room = LIMITS.maxBalance - INITIAL_BALANCE;
  const over = loadRequest(fx, room + 1, await fx.card.loadChallenge());
  const e = await refusedUnchanged(t, fx, fx.card.load(over));
  t.is(e.code, CardErrorCode.LimitExceeded);
  const exact = await fx.card.load(loadRequest(fx, room, await fx.card.loadChallenge()));
  t.is(exact.balance, LIMITS.maxBalance);
});

test('A new challenge replaces the pending one', async (t) => {
  const fx = await openCard(t);
  const first = await fx.card.loadChallenge();
  const second = await fx.card.loadChallenge();
  t.false(first.equals(second));
  const stale = await t.throwsAsync(fx.card.load(loadRequest(fx, 10, first)));
  t.true(isCardError(stale, CardErrorCode.WrongData));
  const fresh = await fx.card.loadChallenge();
  t.like(await fx.card.load(loadRequest(fx, 10, fresh)), { amount: 10 });
});

test('When the LOAD answer is lost, GET DATA DF43 answers the same signed receipt, committed with the credit; before any LOAD it is empty', async (t) => {
  const fx = await openCard(t);
  t.is(await fx.card.lastLoadReceipt(), undefined);
  const receipt = await fx.card.load(loadRequest(fx, 2_500, await fx.card.loadChallenge()));
  const kept = await fx.card.lastLoadReceipt();
  t.deepEqual(kept?.bytes, receipt.bytes);
  t.true(verifyLoadReceipt(kept!, fx.cardKey));
  // A refused LOAD leaves the latest successful one in place.
  await t.throwsAsync(fx.card.load(loadRequest(fx, LIMITS.maxBalance, await fx.card.loadChallenge())));
  t.deepEqual((await fx.card.lastLoadReceipt())?.bytes, receipt.bytes);
});

test('When a per-load limit is set, a LOAD above it is LimitExceeded (6911) and changes nothing; GET DATA DF40 reports the limit', async (t) => {
  const fx = await purseFixture(t, { purse: { perLoadLimit: 3_000 } });
  await fx.card.verifyPin1(PINS.pin1);
  t.like(await fx.card.purseStatus(), { perLoadLimit: 3_000, maxBalance: LIMITS.maxBalance });
  const over = await refusedUnchanged(t, fx, fx.card.load(loadRequest(fx, 3_001, await fx.card.loadChallenge())));
  t.is(over.code, CardErrorCode.LimitExceeded);
  t.like(await fx.card.load(loadRequest(fx, 3_000, await fx.card.loadChallenge())), { amount: 3_000 });
});

test('Without a per-load limit the card reports its maximum balance as the limit', async (t) => {
  const fx = await openCard(t);
  t.like(await fx.card.purseStatus(), { perLoadLimit: LIMITS.maxBalance });
});
