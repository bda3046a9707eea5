/**
 * CANCEL on the reference card (PROTOCOL.md, "Purse", claim 5): only with the
 * market's signed authorization, checked against the record and a signing
 * certificate issued by the market's trust anchor on the card.
 */
import test, { type ExecutionContext } from 'ava';
import { CardErrorCode, isCardError, type CardError } from '../../card-io/errors.js';
import { verifySignedRecord, type SignedRecord } from '../../card-io/home-card/index.js';
import { generateP256KeyPair } from '../../provisioning/pki/index.js';
import {
  DAY0,
  INITIAL_BALANCE,
  PINS,
  cancelRequest,
  foreignCa,
  imageBytes,
  memoryStore,
  payAt,
  purseFixture,
  signerIssuedBy,
  type PurseFixture,
} from './purse-fixtures.js';

const T = DAY0 + 7200;

async function paidCard(t: ExecutionContext): Promise<{ fx: PurseFixture; record: SignedRecord }> {
  const fx = await purseFixture(t);
  await fx.card.verifyPin1(PINS.pin1);
  const record = await payAt(fx, 2_500, T, 'order-cancel');
  return { fx, record };
}

/** The refusal leaves the image file byte for byte as it was. */
async function refusedUnchanged(t: ExecutionContext, fx: PurseFixture, run: Promise<unknown>): Promise<CardError> {
  const before = await imageBytes(fx);
  const e = await t.throwsAsync(run);
  t.deepEqual(await imageBytes(fx), before, 'the image is unchanged');
  if (!isCardError(e)) throw new Error('not a CardError');
  return e;
}

test('CANCEL with a valid market authorization credits back, marks the record cancelled and re-signs it', async (t) => {
  const { fx, record } = await paidCard(t);
  const cancelled = await fx.card.cancel(cancelRequest(fx, record));
  t.like(cancelled, { seq: record.seq, orderId: record.orderId, amount: 2_500, market: record.market, status: 'cancelled' });
  t.true(verifySignedRecord(cancelled, fx.cardKey));
  t.false(cancelled.signature.equals(record.signature));
  t.like(await fx.card.purseStatus(), { balance: INITIAL_BALANCE, counter: 2 });
  t.deepEqual((await fx.card.readRecord(1)).bytes, cancelled.bytes, 'the log holds the record with its latest signature');
  t.deepEqual(await fx.card.logSeqs(), [record.seq]);
});

test('CANCEL needs PIN1 (6982)', async (t) => {
  const { fx, record } = await paidCard(t);
  await fx.card.select();
  const e = await refusedUnchanged(t, fx, fx.card.cancel(cancelRequest(fx, record)));
  t.is(e.code, CardErrorCode.SecurityStatusNotSatisfied);
});

test('A second cancel of the same record is 6985 and changes nothing', async (t) => {
  const { fx, record } = await paidCard(t);
  await fx.card.cancel(cancelRequest(fx, record));
  const e = await refusedUnchanged(t, fx, fx.card.cancel(cancelRequest(fx, record)));
  t.is(e.code, CardErrorCode.ConditionsNotSatisfied);
  t.like(await fx.card.purseStatus(), { balance: INITIAL_BALANCE, counter: 2 });
});

test('A forged market signature is refused (6300 02) with no change', async (t) => {
  const { fx, record } = await paidCard(t);
  const forger = generateP256KeyPair().privateKey;
  const e = await refusedUnchanged(t, fx, fx.card.cancel(cancelRequest(fx, record, { signingKey: forger })));
  t.is(e.code, CardErrorCode.CertificateRejected);
  t.is(e.context.reason, 'bad-signature');
});

test('A signing certificate from a CA that is not on the card is refused (6300 01) with no change', async (t) => {
  const { fx, record } = await paidCard(t);
  const foreign = await signerIssuedBy(await foreignCa());
  const request = cancelRequest(fx, record, { signingKey: foreign.privateKey, certificate: foreign.certificate });
  const e = await refusedUnchanged(t, fx, fx.card.cancel(request));
  t.is(e.code, CardErrorCode.CertificateRejected);
  t.is(e.context.reason, 'untrusted');
});

test('A signing certificate of the right CA that does not name the record market is refused (6300 05)', async (t) => {
  const { fx, record } = await paidCard(t);
  const other = await signerIssuedBy(fx.market.root, ['other.example']);
  const request = cancelRequest(fx, record, { signingKey: other.privateKey, certificate: other.certificate });
  const e = await refusedUnchanged(t, fx, fx.card.cancel(request));
  t.is(e.context.reason, 'wrong-usage');
});

test('A signing certificate issued by an intermediate, not directly by the anchor, is refused (6300 01)', async (t) => {
  const { fx, record } = await paidCard(t);
  const indirect = await signerIssuedBy(fx.market.intermediate);
  const request = cancelRequest(fx, record, { signingKey: indirect.privateKey, certificate: indirect.certificate });
  const e = await refusedUnchanged(t, fx, fx.card.cancel(request));
  t.is(e.context.reason, 'untrusted');
});

test('An authorization with the wrong amount is refused (6A80) with no change', async (t) => {
  const { fx, record } = await paidCard(t);
  const e = await refusedUnchanged(t, fx, fx.card.cancel(cancelRequest(fx, record, { amount: 2_499 })));
  t.is(e.code, CardErrorCode.WrongData);
});

test('An authorization for an unknown seq is refused (6A88) with no change', async (t) => {
  const { fx, record } = await paidCard(t);
  const e = await refusedUnchanged(t, fx, fx.card.cancel(cancelRequest(fx, record, { seq: 77 })));
  t.is(e.code, CardErrorCode.NotFound);
  t.is(e.sw, 0x6a88);
});

test('Authorization bytes that do not parse are refused (6A80)', async (t) => {
  const { fx, record } = await paidCard(t);
  const good = cancelRequest(fx, record);
  const truncated = Buffer.from(good.authorization as Buffer).subarray(0, 20);
  const e = await refusedUnchanged(t, fx, fx.card.cancel({ ...good, authorization: truncated }));
  t.is(e.code, CardErrorCode.WrongData);
});

test('A failed image write during CANCEL answers 6581 and the record stays paid', async (t) => {
  const fx = await purseFixture(t, { storage: 'memory' });
  await fx.card.verifyPin1(PINS.pin1);
  const record = await payAt(fx, 900, T);
  const store = memoryStore(fx);
  store.failCommits = true;
  const e = await t.throwsAsync(fx.card.cancel(cancelRequest(fx, record)));
  t.is(isCardError(e) ? e.sw : undefined, 0x6581);
  store.failCommits = false;
  t.like(await fx.card.readRecord(1), { status: 'paid' });
  t.like(await fx.card.purseStatus(), { balance: INITIAL_BALANCE - 900, counter: 1 });
  t.like(await fx.card.cancel(cancelRequest(fx, record)), { status: 'cancelled' });
});
