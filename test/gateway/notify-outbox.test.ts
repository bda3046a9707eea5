import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createNotification, serializeNotification, type Notification } from '../../gateway/notify/notification.js';
import { isNotifyError } from '../../gateway/notify/notify-error.js';
import { Outbox } from '../../gateway/notify/outbox.js';
import { encodeRecord, isRecordLogError, scanRecordLog } from '../../card-io/base/durable/record-log.js';

const CARD = '0123456789abcdef';

function decision(seq: number, overrides: Partial<Notification> = {}): Notification {
  const n = createNotification({
    type: 'decision',
    cardId: CARD,
    seq,
    terminalId: 'a1b2c3d4e5f60718',
    mail: 'owner@home.example',
    record: {
      seq,
      cardId: CARD,
      market: 'shop.example',
      orderId: `order-${seq}`,
      amount: 1250,
      currency: 'EUR',
      time: '2025-03-01T10:00:00.000Z',
      status: 'paid',
    },
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

const logPath = (dir: string) => join(dir, 'outbox', 'outbox.log');
const logRecords = async (dir: string) => (await scanRecordLog(logPath(dir))).records as Record<string, unknown>[];
const entryFiles = async (dir: string) => (await readdir(join(dir, 'outbox'))).filter((f) => /^[0-9a-f]{32}\.json/.test(f));

test('The same card event always yields the same id and byte-identical stable JSON', (t) => {
  const a = decision(7);
  const b = decision(7);
  t.is(a.id, `${CARD}:decision:7`);
  t.is(serializeNotification(a), serializeNotification(b));
  const json = serializeNotification(a);
  t.deepEqual(Object.keys(JSON.parse(json) as object), Object.keys(JSON.parse(json) as object).sort());
  t.true(json.indexOf('"amount"') < json.indexOf('"cardId"'), 'nested keys are sorted too');
  const cancel = createNotification({
    type: 'cancel',
    cardId: CARD,
    seq: 7,
    terminalId: a.terminalId,
    mail: a.mail,
    record: { ...a.record!, status: 'cancelled' },
  });
  t.is(cancel.id, `${CARD}:cancel:7`);
});

test('A notification without its record, or with a bad mail address, is refused with every problem named', (t) => {
  const error = t.throws(() => createNotification({ type: 'decision', cardId: CARD, seq: 1, terminalId: 'a/b', mail: 'nobody' }));
  t.true(isNotifyError(error, 'invalid-notification'));
  t.regex(error!.message, /terminalId/);
  t.regex(error!.message, /mail/);
  t.regex(error!.message, /record/);
});

test('When enqueue resolves, the notification is one add record in the 0600 outbox.log of a 0700 <data>/outbox, not a file of its own', async (t) => {
  const dir = await dataDir(t);
  const outbox = await Outbox.open({ dataDir: dir });
  t.true(await outbox.enqueue(decision(1), ['mqtt', 'smtp']));
  t.deepEqual(await readdir(join(dir, 'outbox')), ['outbox.log']);
  t.is((await stat(logPath(dir))).mode & 0o777, 0o600);
  t.is((await stat(join(dir, 'outbox'))).mode & 0o777, 0o700);
  const records = await logRecords(dir);
  t.is(records.length, 1);
  t.is((records[0]!.add as Notification).id, decision(1).id);
  t.deepEqual(records[0]!.channels, ['mqtt', 'smtp']);
});

test('When one channel acknowledges, a done record is appended and only the other channel still has it; after the last, the id is delivered', async (t) => {
  const dir = await dataDir(t);
  const outbox = await Outbox.open({ dataDir: dir });
  const n = decision(2);
  await outbox.enqueue(n, ['mqtt', 'smtp']);
  await outbox.markDone(n.id, 'mqtt');
  t.deepEqual((await logRecords(dir)).slice(1), [{ done: n.id, channel: 'mqtt' }]);
  t.deepEqual(outbox.pendingFor('mqtt'), []);
  t.is(outbox.pendingFor('smtp')[0]?.id, n.id);
  t.deepEqual(
    (await Outbox.open({ dataDir: dir })).entries().map((e) => e.pending),
    [['smtp']],
    'a restart keeps the channel done',
  );
  await outbox.markDone(n.id, 'smtp');
  t.is(outbox.size, 0);
  t.true(outbox.isDelivered(n.id));
  await outbox.markDone(n.id, 'smtp'); // a second acknowledgement writes nothing
  t.is((await logRecords(dir)).length, 3);
  const reopened = await Outbox.open({ dataDir: dir });
  t.is(reopened.size, 0);
  t.true(reopened.isDelivered(n.id));
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
  t.is((await logRecords(dir)).length, 1);
});

test('An event enqueued again after it was delivered is not sent again, also after a restart', async (t) => {
  const dir = await dataDir(t);
  const outbox = await Outbox.open({ dataDir: dir });
  await outbox.enqueue(decision(5), ['mqtt']);
  await outbox.markDone(decision(5).id, 'mqtt');
  t.false(await outbox.enqueue(decision(5), ['mqtt']));
  const reopened = await Outbox.open({ dataDir: dir });
  t.false(await reopened.enqueue(decision(5), ['mqtt']));
  t.deepEqual(reopened.pendingFor('mqtt'), []);
  t.is((await logRecords(dir)).length, 2, 'only the first add and its done');
});

test('The outbox remembers the newest delivered ids within its capacity, also after a restart', async (t) => {
  const dir = await dataDir(t);
  const outbox = await Outbox.open({ dataDir: dir, deliveredCapacity: 3 });
  for (let seq = 10; seq < 18; seq++) {
    await outbox.enqueue(decision(seq), ['mqtt']);
    await outbox.markDone(decision(seq).id, 'mqtt');
  }
  const reopened = await Outbox.open({ dataDir: dir, deliveredCapacity: 3 });
  t.deepEqual(
    [10, 14, 15, 16, 17].map((seq) => reopened.isDelivered(decision(seq).id)),
    [false, false, true, true, true],
  );
});

test('When the log is over its size and mostly dead, it is compacted to the remembered ids and the pending entries, which a restart finds again', async (t) => {
  const dir = await dataDir(t);
  const outbox = await Outbox.open({ dataDir: dir, deliveredCapacity: 5, compactAtBytes: 4096 });
  await outbox.enqueue(decision(99), ['mqtt', 'smtp']);
  await outbox.markDone(decision(99).id, 'mqtt');
  for (let seq = 100; seq < 140; seq++) {
    await outbox.enqueue(decision(seq), ['mqtt']);
    await outbox.markDone(decision(seq).id, 'mqtt');
  }
  const size = (await stat(logPath(dir))).size;
  t.true(size < 4 * 4096, `compacted (${size} bytes after 40 notifications)`);
  const records = await logRecords(dir);
  t.false(
    records.some((r) => 'add' in r && (r.add as Notification).id === decision(100).id),
    'a delivered add is gone',
  );
  const reopened = await Outbox.open({ dataDir: dir, deliveredCapacity: 5 });
  t.deepEqual(
    reopened.entries().map((e) => [e.notification.id, e.pending]),
    [[decision(99).id, ['smtp']]],
  );
  t.deepEqual(
    [134, 135, 139].map((seq) => reopened.isDelivered(decision(seq).id)),
    [false, true, true],
  );
});

test('When a crash tore the last record, open cuts it and keeps every complete one', async (t) => {
  const dir = await dataDir(t);
  const outbox = await Outbox.open({ dataDir: dir });
  await outbox.enqueue(decision(12), ['mqtt']);
  await outbox.enqueue(decision(13), ['mqtt']);
  const sound = (await stat(logPath(dir))).size;
  await appendFile(logPath(dir), encodeRecord({ done: decision(12).id, channel: 'mqtt' }).slice(0, 20)); // no newline yet
  const reopened = await Outbox.open({ dataDir: dir });
  t.deepEqual(
    reopened.pendingFor('mqtt').map((n) => n.id),
    [decision(12).id, decision(13).id],
  );
  t.is((await stat(logPath(dir))).size, sound);
  t.true(await reopened.enqueue(decision(14), ['mqtt']));
  t.is((await Outbox.open({ dataDir: dir })).size, 3);
});

test('When a record before the last is damaged, open refuses with a corrupt error naming the log and changes nothing', async (t) => {
  const dir = await dataDir(t);
  const outbox = await Outbox.open({ dataDir: dir });
  await outbox.enqueue(decision(30), ['mqtt']);
  await outbox.enqueue(decision(31), ['mqtt']);
  const bytes = await readFile(logPath(dir));
  bytes[40] ^= 0x01;
  await writeFile(logPath(dir), bytes);
  const error = await t.throwsAsync(Outbox.open({ dataDir: dir }));
  t.true(isRecordLogError(error, 'corrupt'));
  t.is((error as { path?: string }).path, logPath(dir));
  t.true(error!.message.includes(logPath(dir)));
  t.deepEqual(await readFile(logPath(dir)), bytes);
});

test('When a sound line is not an outbox record, open refuses with a corrupt error too', async (t) => {
  const dir = await dataDir(t);
  await mkdir(join(dir, 'outbox'), { recursive: true });
  await writeFile(logPath(dir), encodeRecord({ done: decision(1).id, channel: 'pigeon' }) + encodeRecord({ delivered: 'x' }));
  const error = await t.throwsAsync(Outbox.open({ dataDir: dir }));
  t.true(isRecordLogError(error, 'corrupt'));
  t.is((error as { path?: string }).path, logPath(dir));
});

/** Writes what the one-file-per-notification outbox left: entries, the delivered journal, a temp file, a broken entry. */
async function writeLegacyOutbox(dir: string): Promise<void> {
  const box = join(dir, 'outbox');
  await mkdir(box, { recursive: true });
  const entry = (n: Notification, order: number, pending: string[], done: string[]) =>
    JSON.stringify({ version: 1, notification: n, enqueuedAt: '2025-03-01T10:00:00.000Z', order, pending, done });
  await writeFile(join(box, `${'1'.repeat(32)}.json`), entry(decision(42), 7, ['smtp'], ['mqtt']));
  await writeFile(join(box, `${'2'.repeat(32)}.json`), entry(decision(41), 3, ['mqtt', 'smtp'], []));
  await writeFile(join(box, `${'3'.repeat(32)}.json`), entry(decision(43), 9, [], ['mqtt'])); // delivered, crash before removal
  await writeFile(join(box, `${'4'.repeat(32)}.json`), entry(decision(44), 10, ['mqtt'], [])); // delivered per the journal
  await writeFile(join(box, `${'a'.repeat(32)}.json.tmp`), '{"half');
  await writeFile(join(box, `${'b'.repeat(32)}.json`), 'not json');
  await writeFile(join(box, 'delivered.json'), JSON.stringify({ version: 1, ids: [decision(1).id, decision(2).id] }));
  await writeFile(join(box, 'delivered.log'), `${decision(3).id}\n${decision(44).id}\n${decision(4).id}`); // torn last line
}

test('When the data directory holds the older one-file-per-notification outbox, open carries it into the log and removes the old files', async (t) => {
  const dir = await dataDir(t);
  await writeLegacyOutbox(dir);
  const outbox = await Outbox.open({ dataDir: dir });
  const expect = (o: Outbox) => {
    t.deepEqual(
      o.entries().map((e) => [e.notification.id, e.pending]),
      [
        [decision(41).id, ['mqtt', 'smtp']],
        [decision(42).id, ['smtp']],
      ],
    );
    t.deepEqual(
      [1, 2, 3, 43, 44].map((seq) => o.isDelivered(decision(seq).id)),
      [true, true, true, true, true],
    );
    t.false(o.isDelivered(decision(4).id), 'a torn journal line never counted');
  };
  expect(outbox);
  t.deepEqual((await readdir(join(dir, 'outbox'))).sort(), [`${'b'.repeat(32)}.json.corrupt`, 'outbox.log']);
  expect(await Outbox.open({ dataDir: dir }));
});

test('When a conversion was interrupted after the log was written, the next open does not queue anything twice', async (t) => {
  const dir = await dataDir(t);
  await writeLegacyOutbox(dir);
  await Outbox.open({ dataDir: dir });
  const converted = await readFile(logPath(dir));
  await writeLegacyOutbox(dir); // as if the removals had not happened
  await rm(join(dir, 'outbox', `${'b'.repeat(32)}.json`));
  await writeFile(logPath(dir), converted);
  const outbox = await Outbox.open({ dataDir: dir });
  t.deepEqual(
    outbox.entries().map((e) => e.notification.id),
    [decision(41).id, decision(42).id],
  );
  t.deepEqual(await entryFiles(dir), [`${'b'.repeat(32)}.json.corrupt`]);
});

test('When the older delivered journal snapshot is unreadable, open moves it aside and still carries every pending notification', async (t) => {
  const dir = await dataDir(t);
  await writeLegacyOutbox(dir);
  await writeFile(join(dir, 'outbox', 'delivered.json'), '{"version": 1, "ids": [');
  const outbox = await Outbox.open({ dataDir: dir });
  t.deepEqual(
    outbox.entries().map((e) => e.notification.id),
    [decision(41).id, decision(42).id],
  );
  t.true(outbox.isDelivered(decision(3).id));
  t.false(outbox.isDelivered(decision(1).id));
  t.true((await readdir(join(dir, 'outbox'))).includes('delivered.json.corrupt'));
});
