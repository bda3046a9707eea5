/**
 * The decision log and the purse in the card image (PROTOCOL.md, "Purse"):
 * the last 32 records, READ RECORD and DF42, persistence across a reload of
 * the image file, and images written before the purse existed.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import test from 'ava';
import { createHomeCardApplet } from '../../card-io/emulator/applet.js';
import { loadCardImage } from '../../card-io/emulator/card-image.js';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { HomeCard, verifySignedRecord } from '../../card-io/home-card/index.js';
import { CURRENCY, DAY0, INITIAL_BALANCE, PINS, cancelRequest, loadRequest, payAt, purseFixture, reloadFromDisk, releaseForMarket } from './purse-fixtures.js';

test('The log keeps the last 32 records: READ RECORD 1 is the newest, 33 and beyond are 6A83, DF42 lists 32 seqs', async (t) => {
  const fx = await purseFixture(t, { storage: 'memory' });
  await fx.card.verifyPin1(PINS.pin1);
  for (let i = 1; i <= 35; i++) await payAt(fx, i, DAY0 + i * 10, `order-${i}`);

  const seqs = await fx.card.logSeqs();
  t.is(seqs.length, 32);
  t.deepEqual(
    seqs,
    Array.from({ length: 32 }, (_, i) => 35 - i),
    'newest first; 1, 2 and 3 rolled off',
  );
  const newest = await fx.card.readRecord(1);
  t.like(newest, { seq: 35, orderId: 'order-35', amount: 35 });
  t.like(await fx.card.readRecord(32), { seq: 4, orderId: 'order-4' });
  t.true(verifySignedRecord(await fx.card.readRecord(32), fx.cardKey));
  for (const n of [33, 34, 255]) {
    const e = await t.throwsAsync(fx.card.readRecord(n));
    t.true(isCardError(e, CardErrorCode.NotFound), `record ${n}`);
    t.is(isCardError(e) ? e.sw : undefined, 0x6a83);
  }
  const total = (35 * 36) / 2;
  t.like(await fx.card.purseStatus(), { balance: INITIAL_BALANCE - total, counter: 35 });
});

test('A record that rolled off the log can no longer be cancelled (6A88)', async (t) => {
  const fx = await purseFixture(t, { storage: 'memory' });
  await fx.card.verifyPin1(PINS.pin1);
  const first = await payAt(fx, 5, DAY0 + 1);
  for (let i = 2; i <= 33; i++) await payAt(fx, 1, DAY0 + i);
  const e = await t.throwsAsync(fx.card.cancel(cancelRequest(fx, first)));
  t.true(isCardError(e, CardErrorCode.NotFound));
});

test('Purse state survives re-loading the image from disk', async (t) => {
  const fx = await purseFixture(t);
  await fx.card.verifyPin1(PINS.pin1);
  const paid = await payAt(fx, 1_500, DAY0 + 100);
  await payAt(fx, 2_500, DAY0 + 200);
  await fx.card.cancel(cancelRequest(fx, paid));
  await fx.card.load(loadRequest(fx, 4_000, await fx.card.loadChallenge()));
  const status = await fx.card.purseStatus();
  const records = [await fx.card.readRecord(1), await fx.card.readRecord(2)];

  const reloaded = await reloadFromDisk(fx);
  t.deepEqual(await reloaded.purseStatus(), status);
  t.deepEqual(status, { ...status, balance: INITIAL_BALANCE - 2_500 + 4_000, counter: 4, spentToday: 4_000 });
  t.deepEqual(await reloaded.logSeqs(), [2, 1]);
  t.deepEqual((await reloaded.readRecord(1)).bytes, records[0]!.bytes);
  t.deepEqual((await reloaded.readRecord(2)).bytes, records[1]!.bytes);
  t.like(records[1], { seq: 1, status: 'cancelled' });

  await reloaded.verifyPin1(PINS.pin1);
  const rollback = await t.throwsAsync(payAt({ ...fx, card: reloaded }, 10, DAY0 + 200 - 301));
  t.true(isCardError(rollback, CardErrorCode.WrongData), 'the latest PAY time persisted too');
});

/** Rewrite the image file as the emulator wrote it before the purse existed: no `purse` member. */
async function stripPurse(path: string): Promise<void> {
  const outer = JSON.parse(await readFile(path, 'utf8')) as { body: string; sha256: string };
  const inner = JSON.parse(outer.body) as Record<string, unknown>;
  delete inner.purse;
  const body = JSON.stringify(inner);
  const sha256 = createHash('sha256').update(body, 'utf8').digest('hex');
  await writeFile(path, JSON.stringify({ ...outer, sha256, body }, null, 1) + '\n');
}

test('An image without a purse loads as a purse with currency unset, and purse commands answer 6985', async (t) => {
  const fx = await purseFixture(t);
  await stripPurse(fx.imagePath!);
  const image = await loadCardImage(fx.imagePath!);
  t.is(image.state.purse.currency, null);
  t.is(image.state.purse.balance, 0n);

  const applet = createHomeCardApplet({ store: image });
  const card = new HomeCard({ transport: { transmit: (apdu) => applet.process(apdu) } });
  await card.select();
  await card.verifyPin1(PINS.pin1);
  const conditions = async (run: Promise<unknown>, what: string) => t.true(isCardError(await t.throwsAsync(run), CardErrorCode.ConditionsNotSatisfied), what);
  await conditions(card.loadChallenge(), 'GET LOAD CHALLENGE');
  await conditions(card.load(loadRequest(fx, 1, Buffer.alloc(16))), 'LOAD');
  await conditions(card.readRecord(1), 'READ RECORD');
  await releaseForMarket({ ...fx, card }, DAY0);
  await conditions(card.pay({ orderId: 'o', amount: 1, agreedAmount: 1, currency: CURRENCY, time: new Date(DAY0 * 1000) }), 'PAY');
  t.true(isCardError(await t.throwsAsync(card.purseStatus()), CardErrorCode.NotFound), 'DF40 is absent');
  t.true(isCardError(await t.throwsAsync(card.logSeqs()), CardErrorCode.NotFound), 'DF42 is absent');
  t.is((await card.info()).lifeCycle, 'operational', 'the rest of the card works as before');
});

test('A card personalized without purse parameters has no purse, as before the purse existed', async (t) => {
  const fx = await purseFixture(t, { storage: 'memory', purse: null });
  t.true(isCardError(await t.throwsAsync(fx.card.purseStatus()), CardErrorCode.NotFound));
  await fx.card.verifyPin1(PINS.pin1);
  t.true(isCardError(await t.throwsAsync(fx.card.loadChallenge()), CardErrorCode.ConditionsNotSatisfied));
});
