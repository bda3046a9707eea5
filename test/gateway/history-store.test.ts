import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../card-io/base/log.js';
import { HistoryStore, isHistoryError, type HistoryStoreOptions, type NewHistoryEntry } from '../../gateway/history/index.js';

type Teardown = { teardown(fn: () => Promise<void>): void };

async function tempDir(t: Teardown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hg-history-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'history');
}

function openStore(dir: string, options: Partial<HistoryStoreOptions> = {}): Promise<HistoryStore> {
  return HistoryStore.open({ dir, logger: silentLogger, clock: () => Date.parse('2025-06-30T00:00:00Z'), ...options });
}

function decision(seq: number, time: string, extra: Partial<NewHistoryEntry> = {}): NewHistoryEntry {
  return {
    kind: 'decision',
    cardId: '0102030405060708',
    seq,
    market: 'shop.example',
    orderId: `o-${seq}`,
    amount: 100 * seq,
    currency: 'EUR',
    time,
    status: 'paid',
    signedRecord: 'AQID',
    ...extra,
  };
}

test('Entries appended in different months are listed newest first across months and found by key', async (t) => {
  const store = await openStore(await tempDir(t));
  t.is(await store.append(decision(1, '2025-01-10T09:00:00Z')), 'appended');
  t.is(await store.append(decision(3, '2025-03-02T09:00:00Z', { terminalId: 'aa' })), 'appended');
  t.is(await store.append(decision(2, '2025-01-20T09:00:00Z', { terminalId: 'aa' })), 'appended');
  t.is(await store.append({ kind: 'load', cardId: '0102030405060708', seq: 4, amount: 5000, currency: 'EUR', time: '2025-02-01T00:00:00Z' }), 'appended');

  t.deepEqual(
    (await store.list()).map((e) => `${e.kind}:${e.seq}`),
    ['decision:3', 'load:4', 'decision:2', 'decision:1'],
  );
  t.deepEqual(
    (await store.list({ limit: 2 })).map((e) => e.seq),
    [3, 4],
  );
  t.deepEqual(
    (await store.list({ terminalId: 'aa' })).map((e) => e.seq),
    [3, 2],
  );
  t.deepEqual(
    (await store.list({ since: '2025-01-15T00:00:00Z' })).map((e) => e.seq),
    [3, 4, 2],
  );

  const got = await store.get('0102030405060708:decision:2');
  t.like(got, { seq: 2, orderId: 'o-2', time: '2025-01-20T09:00:00.000Z', archivedAt: '2025-06-30T00:00:00.000Z' });
  t.is(await store.get('0102030405060708:cancel:2'), undefined);
  t.is(await store.get('ffffffffffffffff:decision:2'), undefined);
});

test('Re-appending an archived key changes nothing, and a changed status updates only that entry', async (t) => {
  const store = await openStore(await tempDir(t));
  await store.append(decision(7, '2025-02-10T09:00:00Z', { presented: true }));
  const before = store.bytesWritten;
  t.is(await store.append(decision(7, '2025-02-10T09:00:00Z')), 'unchanged');
  t.is(await store.append(decision(7, '2025-02-10T09:00:00Z', { amount: 1 })), 'unchanged', 'the archive keeps the facts it has');
  t.is(store.bytesWritten, before, 'a no-op writes nothing');

  t.is(await store.append(decision(7, '2025-02-10T09:00:00Z', { status: 'cancelled', signedRecord: 'BAUG' })), 'updated');
  t.like(await store.get('0102030405060708:decision:7'), { status: 'cancelled', signedRecord: 'BAUG', presented: true, amount: 700 });
  t.is((await store.list()).length, 1);
});

test('update patches an archived entry and reports an unknown key as not-found', async (t) => {
  const store = await openStore(await tempDir(t));
  await store.append(decision(1, '2025-04-01T00:00:00Z'));
  t.like(await store.update('0102030405060708:decision:1', { presented: true, terminalId: 'bb' }), { presented: true, terminalId: 'bb' });
  t.like(await store.get('0102030405060708:decision:1'), { presented: true, terminalId: 'bb', status: 'paid' });
  const missing = await t.throwsAsync(store.update('0102030405060708:decision:9', { presented: true }));
  t.true(isHistoryError(missing, 'not-found'));
  const bad = await t.throwsAsync(store.update('0102030405060708:decision:1', { seq: 5 } as never));
  t.true(isHistoryError(bad, 'invalid'), 'identity fields cannot be patched');
  t.true(isHistoryError(await t.throwsAsync(store.get('not a key')), 'invalid'));
  t.true(isHistoryError(await t.throwsAsync(store.list({ limit: 0 })), 'invalid'));
});

test('Malformed entries are refused with invalid and nothing is written', async (t) => {
  const store = await openStore(await tempDir(t));
  for (const bad of [{ currency: 'eur' }, { seq: -1 }, { time: 'yesterday' }, { cardId: 'a:b' }, { amount: 1.5 }, { signedRecord: 'not base64!' }]) {
    const error = await t.throwsAsync(store.append(decision(1, '2025-01-01T00:00:00Z', bad as Partial<NewHistoryEntry>)));
    t.true(isHistoryError(error, 'invalid'), JSON.stringify(bad));
  }
  t.is(store.bytesWritten, 0);
  t.deepEqual(await store.list(), []);
});

test('A reopened store finds every entry on disk, across months', async (t) => {
  const dir = await tempDir(t);
  const store = await openStore(dir);
  for (let seq = 1; seq <= 12; seq++) await store.append(decision(seq, `2024-${String(seq).padStart(2, '0')}-05T12:00:00Z`));
  await store.update('0102030405060708:decision:4', { status: 'cancelled' });

  const reopened = await openStore(dir, { cachedPartitions: 2 });
  t.deepEqual(
    (await reopened.list()).map((e) => e.seq),
    [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
  );
  t.like(await reopened.get('0102030405060708:decision:4'), { status: 'cancelled' });
  t.like(await reopened.get('0102030405060708:decision:1'), { time: '2024-01-05T12:00:00.000Z' });
  t.deepEqual(await reopened.list(), await store.list());
});

test('Concurrent appends of the same key archive it once', async (t) => {
  const store = await openStore(await tempDir(t));
  const outcomes = await Promise.all(Array.from({ length: 5 }, () => store.append(decision(1, '2025-01-01T00:00:00Z'))));
  t.deepEqual(outcomes.sort(), ['appended', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);
  t.is((await store.list()).length, 1);
});
