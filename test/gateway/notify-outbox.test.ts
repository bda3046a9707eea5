import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createNotification, serializeNotification, type Notification } from '../../gateway/notify/notification.js';
import { isNotifyError } from '../../gateway/notify/notify-error.js';
import { Outbox } from '../../gateway/notify/outbox.js';

const CARD = '0123456789abcdef';

function decision(seq: number, overrides: Partial<Notification> = {}): Notification {
  const n = createNotification({
    type: 'decision',
    cardId: CARD,
    seq,
    terminalId: 'a1b2c3d4e5f60718',
    mail: 'owner@home.example',
    record: { seq, cardId: CARD, market: 'shop.example', orderId: `order-${seq}`, amount: 1250, currency: 'EUR', time: '2025-03-01T10:00:00.000Z', status: 'paid' },
    signedRecord: Buffer.from([0xe1, 0x02, 0xdf, 0x50]),
    balance: 8750,
  });
  return { ...n, ...overrides };
}

async function dataDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-outbox-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const entryFiles = async (dir: string) => (await readdir(join(dir, 'outbox'))).filter((f) => /^[0-9a-f]{32}\.json$/.test(f));

test('The same card event always yields the same id and byte-identical stable JSON', (t) => {
  const a = decision(7);
  const b = decision(7);
  t.is(a.id, `${CARD}:decision:7`);
  t.is(serializeNotification(a), serializeNotification(b));
  const json = serializeNotification(a);
  t.deepEqual(Object.keys(JSON.parse(json) as object), Object.keys(JSON.parse(json) as object).sort());
  t.true(json.indexOf('"amount"') < json.indexOf('"cardId"'), 'nested keys are sorted too');
  const cancel = createNotification({ type: 'cancel', cardId: CARD, seq: 7, terminalId: a.terminalId, mail: a.mail, record: { ...a.record!, status: 'cancelled' } });
  t.is(cancel.id, `${CARD}:cancel:7`);
});

test('A notification without its record, or with a bad mail address, is refused with every problem named', (t) => {
  const error = t.throws(() => createNotification({ type: 'decision', cardId: CARD, seq: 1, terminalId: 'a/b', mail: 'nobody' }));
  t.true(isNotifyError(error, 'invalid-notification'));
  t.regex(error!.message, /terminalId/);
  t.regex(error!.message, /mail/);
  t.regex(error!.message, /record/);
});

test('enqueue resolves only after one 0600 file per notification exists in <data>/outbox', async (t) => {
  const dir = await dataDir(t);
  const outbox = await Outbox.open({ dataDir: dir });
  t.true(await outbox.enqueue(decision(1), ['mqtt', 'smtp']));
  const files = await entryFiles(dir);
  t.is(files.length, 1);
  const path = join(dir, 'outbox', files[0]!);
  t.is((await stat(path)).mode & 0o777, 0o600);
  t.is((await stat(join(dir, 'outbox'))).mode & 0o777, 0o700);
  const content = JSON.parse(await readFile(path, 'utf8')) as { notification: Notification; pending: string[] };
  t.is(content.notification.id, decision(1).id);
  t.deepEqual(content.pending, ['mqtt', 'smtp']);
});

test('Marking one channel done rewrites the file; the last one removes it and remembers the id', async (t) => {
  const dir = await dataDir(t);
  const outbox = await Outbox.open({ dataDir: dir });
  const n = decision(2);
  await outbox.enqueue(n, ['mqtt', 'smtp']);
  await outbox.markDone(n.id, 'mqtt');
  const [file] = await entryFiles(dir);
  t.deepEqual((JSON.parse(await readFile(join(dir, 'outbox', file!), 'utf8')) as { pending: string[] }).pending, ['smtp']);
  t.deepEqual(outbox.pendingFor('mqtt'), []);
  t.is(outbox.pendingFor('smtp')[0]?.id, n.id);
  await outbox.markDone(n.id, 'smtp');
  t.deepEqual(await entryFiles(dir), []);
  t.is(outbox.size, 0);
  t.true(outbox.isDelivered(n.id));
});

test('A new outbox on the same data directory reloads every pending notification, oldest first', async (t) => {
  const dir = await dataDir(t);
  const first = await Outbox.open({ dataDir: dir });
  for (const seq of [3, 1, 2]) await first.enqueue(decision(seq), ['mqtt']);
  await first.markDone(decision(1).id, 'mqtt');
  const second = await Outbox.open({ dataDir: dir });
  t.deepEqual(
    second.pendingFor('mqtt').map((n) => n.id),
    [decision(3).id, decision(2).id],
  );
});

test('Enqueueing the same event twice, even concurrently, keeps one notification', async (t) => {
  const dir = await dataDir(t);
  const outbox = await Outbox.open({ dataDir: dir });
  const results = await Promise.all([outbox.enqueue(decision(4), ['mqtt']), outbox.enqueue(decision(4), ['mqtt'])]);
  t.deepEqual(results.sort(), [false, true]);
  t.false(await outbox.enqueue(decision(4), ['mqtt']));
  t.is(outbox.size, 1);
  t.is((await entryFiles(dir)).length, 1);
});

test('An event enqueued again after it was delivered is not sent again, also after a restart', async (t) => {
  const dir = await dataDir(t);
  const outbox = await Outbox.open({ dataDir: dir });
  await outbox.enqueue(decision(5), ['mqtt']);
  await outbox.markDone(decision(5).id, 'mqtt');
  t.false(await outbox.enqueue(decision(5), ['mqtt']));
  const reopened = await Outbox.open({ dataDir: dir });
  t.false(await reopened.enqueue(decision(5), ['mqtt']));
  t.deepEqual(await entryFiles(dir), []);
});

test('The delivered journal keeps the newest ids within its capacity and compacts its log', async (t) => {
  const dir = await dataDir(t);
  const outbox = await Outbox.open({ dataDir: dir, deliveredCapacity: 3 });
  for (let seq = 10; seq < 18; seq++) {
    await outbox.enqueue(decision(seq), ['mqtt']);
    await outbox.markDone(decision(seq).id, 'mqtt');
  }
  const log = await readFile(join(dir, 'outbox', 'delivered.log'), 'utf8');
  t.true(log.split('\n').filter(Boolean).length <= 3, 'the log was compacted into delivered.json');
  const reopened = await Outbox.open({ dataDir: dir, deliveredCapacity: 3 });
  t.deepEqual(
    [10, 14, 15, 16, 17].map((seq) => reopened.isDelivered(decision(seq).id)),
    [false, false, true, true, true],
  );
});

test('A torn last line of the delivered journal counts for nothing', async (t) => {
  const dir = await dataDir(t);
  const outbox = await Outbox.open({ dataDir: dir });
  await outbox.enqueue(decision(12), ['mqtt']);
  await outbox.markDone(decision(12).id, 'mqtt');
  await appendFile(join(dir, 'outbox', 'delivered.log'), decision(1).id); // a crash mid-append: no newline
  const reopened = await Outbox.open({ dataDir: dir });
  t.true(reopened.isDelivered(decision(12).id));
  t.false(reopened.isDelivered(decision(1).id));
  t.true(await reopened.enqueue(decision(1), ['mqtt']));
});

test('A stale temp file is removed and an unreadable entry is moved aside without blocking the others', async (t) => {
  const dir = await dataDir(t);
  const outbox = await Outbox.open({ dataDir: dir });
  await outbox.enqueue(decision(20), ['mqtt']);
  await writeFile(join(dir, 'outbox', `${'a'.repeat(32)}.json.tmp`), '{"half');
  await writeFile(join(dir, 'outbox', `${'b'.repeat(32)}.json`), 'not json');
  const reopened = await Outbox.open({ dataDir: dir });
  t.deepEqual(
    reopened.pendingFor('mqtt').map((n) => n.id),
    [decision(20).id],
  );
  const names = await readdir(join(dir, 'outbox'));
  t.false(names.includes(`${'a'.repeat(32)}.json.tmp`));
  t.true(names.includes(`${'b'.repeat(32)}.json.corrupt`));
});
