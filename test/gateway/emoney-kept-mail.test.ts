/**
 * A payment's decision mail kept by its archive entry (docs/PERFORMANCE.md,
 * "Writes per payment"): the outbox holds it in memory only, writes nothing
 * for it, and the entry is marked mailed once every channel acknowledged it;
 * what a stop or crash left unmailed is queued again from the archive. With
 * the real history store and outbox on a temporary directory, the reference
 * card in memory (helpers/fakes/household.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { silentLogger } from '../../card-io/base/log.js';
import type { Mailer } from '../../gateway/emoney/emoney-manager.js';
import { HistoryStore } from '../../gateway/history/index.js';
import { createNotification } from '../../gateway/notify/notification.js';
import { Outbox } from '../../gateway/notify/outbox.js';
import { createNotifier } from '../../gateway/notify/notifier.js';
import { pendingIdsOnDisk } from '../helpers/outbox-on-disk.js';
import { moneyHousehold, PINS } from '../helpers/fakes/household.js';
import { scanRecordLog } from '../../card-io/base/durable/record-log.js';

const EUR = (amount: number) => ({ amount, currency: 'EUR' });

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-kept-mail-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A mailer over a real outbox with one channel; `deliver` acknowledges everything pending on it, as a broker's PUBACK would. */
function outboxMailer(outbox: Outbox): Mailer & { deliver(): Promise<string[]> } {
  return {
    notify: async (n, options) => void (await outbox.enqueue(n, ['mqtt'], options)),
    async deliver() {
      const ids = outbox.pendingFor('mqtt').map((n) => n.id);
      for (const id of ids) await outbox.markDone(id, 'mqtt');
      return ids;
    },
  };
}

function decision(seq: number) {
  return createNotification({
    type: 'decision',
    cardId: '0123456789abcdef',
    seq,
    terminalId: 'a1b2c3d4e5f60718',
    mail: 'owner@home.example',
    record: {
      seq,
      cardId: '0123456789abcdef',
      market: 'shop.example',
      orderId: `order-${seq}`,
      amount: 100,
      currency: 'EUR',
      time: '2025-03-01T10:00:00.000Z',
      status: 'paid',
    },
  });
}

test('A kept notification is delivered like any other but the outbox log gets no record of it, and its keeper is told once every channel acknowledged it', async (t) => {
  const dir = await tempDir(t);
  const outbox = await Outbox.open({ dataDir: dir });
  let told = 0;
  const n = decision(1);
  t.true(await outbox.enqueue(n, ['mqtt', 'smtp'], { kept: { delivered: async () => void told++ } }));
  t.deepEqual(
    outbox.pendingFor('mqtt').map((x) => x.id),
    [n.id],
  );
  t.is(outbox.size, 1);
  await outbox.markDone(n.id, 'mqtt');
  t.is(told, 0, 'one channel of two is not delivered');
  await outbox.markDone(n.id, 'smtp');
  t.is(told, 1);
  t.is(outbox.size, 0);
  t.false(await outbox.enqueue(n, ['mqtt'], { kept: { delivered: async () => void told++ } }), 'a delivered id is not queued again');
  t.is(told, 2, 'but its keeper is told again that it was delivered');
  t.deepEqual((await scanRecordLog(join(dir, 'outbox', 'outbox.log'))).records, [], 'nothing written for it');
});

test('A kept notification is not in the outbox log a reopened outbox reads, while one the outbox keeps itself is', async (t) => {
  const dir = await tempDir(t);
  const outbox = await Outbox.open({ dataDir: dir });
  await outbox.enqueue(decision(1), ['mqtt'], { kept: { delivered: async () => undefined } });
  await outbox.enqueue(decision(2), ['mqtt']);
  t.deepEqual(await pendingIdsOnDisk(dir), [decision(2).id], 'only the one the outbox keeps itself is on disk');
});

test('A payment archives its decision keeping the mail (mailed: false), the outbox writes nothing for it, and its delivery marks the entry mailed', async (t) => {
  const h = await moneyHousehold(t);
  const outbox = await Outbox.open({ dataDir: await tempDir(t) });
  const mailer = outboxMailer(outbox);
  const kitchen = await h.terminal('kitchen');
  h.market.open('o-1', 1_250);
  const answer = await h.manager({ mailer }).pay(kitchen, 'shop', 'o-1', PINS.pin2, EUR(1_250));
  const key = `${answer.record.cardId}:decision:${answer.record.seq}`;
  t.like(await h.history.get(key), { mailed: false, presented: true });
  t.deepEqual(await pendingIdsOnDisk(outbox.dir.replace(/\/outbox$/, '')), [], 'no outbox record for the mail');
  t.deepEqual(await mailer.deliver(), [key]);
  t.like(await h.history.get(key), { mailed: true });
  t.deepEqual(await h.history.listUnmailed(), []);
});

test('When the gateway stopped before a decision was mailed, mailUnmailed queues its mail again from the archive, and a mailed one is not queued again', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  h.market.open('o-1', 1_000);
  h.market.open('o-2', 2_000);
  // The first gateway: both paid, only the first mail delivered before it stopped.
  const first = outboxMailer(await Outbox.open({ dataDir: await tempDir(t) }));
  const a = await h.manager({ mailer: first }).pay(kitchen, 'shop', 'o-1', PINS.pin2, EUR(1_000));
  await first.deliver();
  const b = await h.manager({ mailer: first }).pay(kitchen, 'shop', 'o-2', PINS.pin2, EUR(2_000));
  // The next start: a fresh outbox (the kept mail was in the old one's memory only) and the archive reopened.
  const history = await HistoryStore.open({ dir: h.history.dir, logger: silentLogger });
  const unmailed = `${b.record.cardId}:decision:${b.record.seq}`;
  t.deepEqual(
    (await history.listUnmailed()).map((e) => `${e.cardId}:decision:${e.seq}`),
    [unmailed],
  );
  const next = outboxMailer(await Outbox.open({ dataDir: await tempDir(t) }));
  t.is(await h.manager({ history, mailer: next }).mailUnmailed(), 1);
  const queued = await next.deliver();
  t.deepEqual(queued, [unmailed], `only the unmailed one (not ${a.record.seq})`);
  t.like(await history.get(unmailed), { mailed: true });
  t.is(await h.manager({ history, mailer: next }).mailUnmailed(), 0);
});

test('With no notification channel configured, a payment marks its entry mailed at once, so nothing waits to be mailed at the next start', async (t) => {
  const h = await moneyHousehold(t);
  const notifier = await createNotifier({ dataDir: await tempDir(t) });
  t.teardown(() => notifier.stop());
  const kitchen = await h.terminal('kitchen');
  h.market.open('o-1', 500);
  const answer = await h.manager({ mailer: notifier }).pay(kitchen, 'shop', 'o-1', PINS.pin2, EUR(500));
  t.like(await h.history.get(`${answer.record.cardId}:decision:${answer.record.seq}`), { mailed: true });
  t.deepEqual(await h.history.listUnmailed(), []);
});
