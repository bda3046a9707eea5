import test from 'ava';
import { appendFile, mkdir, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../card-io/base/log.js';
import {
  HistoryStore,
  isHistoryError,
  type HistoryEntry,
  type HistoryError,
  type HistoryStoreOptions,
  type NewHistoryEntry,
} from '../../gateway/history/index.js';

type Teardown = { teardown(fn: () => Promise<void>): void };
const CARD = '0102030405060708';
const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

async function tempDir(t: Teardown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hg-history-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'history');
}

function openStore(dir: string, options: Partial<HistoryStoreOptions> = {}): Promise<HistoryStore> {
  return HistoryStore.open({ dir, logger: silentLogger, ...options });
}

function decision(seq: number, time: string, extra: Partial<NewHistoryEntry> = {}): HistoryEntry {
  return {
    kind: 'decision',
    cardId: CARD,
    seq,
    market: 'shop.example',
    orderId: `order-${seq}`,
    amount: 1250,
    currency: 'EUR',
    time,
    status: 'paid',
    // A signed record is ~170 bytes of TLV (E1 record ‖ DF5E signature): ~230 characters of base64.
    signedRecord: Buffer.alloc(170, seq % 256).toString('base64'),
    terminalId: 'a1b2c3d4e5f60718',
    archivedAt: time,
    ...extra,
  };
}

/** `months` months of `perMonth` decisions each, written as one JSON document per month, as an earlier version left them (open converts them). */
async function seedHistory(dir: string, months: number, perMonth: number): Promise<{ seq: number; lastMonth: string }> {
  await mkdir(dir, { recursive: true });
  let seq = 0;
  let month = '';
  for (let m = 0; m < months; m++) {
    const start = Date.UTC(2010, m, 1);
    month = new Date(start).toISOString().slice(0, 7);
    const entries = Array.from({ length: perMonth }, (_, i) => decision(++seq, new Date(start + i * 3_600_000).toISOString()));
    await writeFile(join(dir, `${month}.json`), `${JSON.stringify({ version: 1, month, entries }, null, 2)}\n`);
  }
  return { seq, lastMonth: month };
}

/** Bytes written per append, averaged over a few appends at the end of the newest month. */
async function bytesPerAppend(dir: string, history: { seq: number; lastMonth: string }): Promise<number> {
  const store = await openStore(dir);
  const before = store.bytesWritten;
  const appends = 5;
  for (let i = 1; i <= appends; i++) {
    const outcome = await store.append(decision(history.seq + i, `${history.lastMonth}-28T${String(10 + i)}:00:00Z`));
    if (outcome !== 'appended') throw new Error(`expected appended, got ${outcome}`);
  }
  return (store.bytesWritten - before) / appends;
}

test('A write touches only its month: the other months keep their content, and the changed month only grows by appended records', async (t) => {
  const dir = await tempDir(t);
  const store = await openStore(dir);
  for (const [seq, time] of [
    [1, '2025-01-05T00:00:00Z'],
    [2, '2025-02-05T00:00:00Z'],
    [3, '2025-03-05T00:00:00Z'],
  ] as const) {
    await store.append(decision(seq, time));
  }
  // What the design promises: content and untouched neighbours (a file system may reuse inode numbers, so those prove nothing).
  const snapshot = async (file: string) => {
    const s = await stat(join(dir, file));
    return { size: s.size, mtimeMs: s.mtimeMs, text: await readFile(join(dir, file), 'utf8') };
  };
  const [january, february, march, index] = await Promise.all(['2025-01.jsonl', '2025-02.jsonl', '2025-03.jsonl', 'index.json'].map(snapshot));

  await store.append(decision(4, '2025-02-20T00:00:00Z'));
  await store.update(`${CARD}:decision:2`, { status: 'cancelled' });
  t.deepEqual(await snapshot('2025-01.jsonl'), january);
  t.deepEqual(await snapshot('2025-03.jsonl'), march);
  t.deepEqual(await snapshot('index.json'), index, 'the index is written only when a month starts');
  const februaryNow = await snapshot('2025-02.jsonl');
  t.true(februaryNow.text.startsWith(february!.text), 'February kept every earlier byte: records were appended, nothing rewritten');
  t.is(februaryNow.text.split('\n').length - february!.text.split('\n').length, 2, 'one record per change');

  await store.update(`${CARD}:decision:1`, { presented: true });
  t.deepEqual(await snapshot('index.json'), index, 'an update does not rewrite the index');
  t.deepEqual(await snapshot('2025-02.jsonl'), februaryNow);
  t.deepEqual(await snapshot('2025-03.jsonl'), march);
  t.true((await snapshot('2025-01.jsonl')).text.startsWith(january!.text));

  const reopened = await openStore(dir);
  t.deepEqual(
    (await reopened.list()).map((e) => [e.seq, e.status, e.presented]),
    [
      [3, 'paid', undefined],
      [4, 'paid', undefined],
      [2, 'cancelled', undefined],
      [1, 'paid', true],
    ],
  );
});

test('Bytes written per append stay flat whether 1 000 or 10 000 entries are archived before it', async (t) => {
  // The same household activity (100 decisions a month) over 10 and over 100 months.
  const smallDir = await tempDir(t);
  const largeDir = await tempDir(t);
  const small = await bytesPerAppend(smallDir, await seedHistory(smallDir, 10, 100));
  const large = await bytesPerAppend(largeDir, await seedHistory(largeDir, 100, 100));
  const monthFile = (m: number) => join(largeDir, `${new Date(Date.UTC(2010, m, 1)).toISOString().slice(0, 7)}.jsonl`);
  const totalLarge = (await Promise.all(Array.from({ length: 100 }, (_, m) => stat(monthFile(m))))).reduce((n, s) => n + s.size, 0);
  t.log({ small: Math.round(small), large: Math.round(large), totalLarge });
  t.true(large < small * 1.5, `per append: ${large} bytes after 10 000 entries vs ${small} after 1 000`);
  t.true(large < 1024, 'an append writes its own record (~600 bytes), not its month');
  t.true(large < totalLarge / 50, 'an append rewrites a small fraction of the history');
});

test('When a crash tore the last record of a month, open cuts it and keeps every earlier entry, and appends go on', async (t) => {
  const dir = await tempDir(t);
  const store = await openStore(dir);
  await store.append(decision(1, '2025-05-01T00:00:00Z'));
  await store.append(decision(2, '2025-05-02T00:00:00Z'));
  const path = join(dir, '2025-05.jsonl');
  const sound = await readFile(path, 'utf8');
  await appendFile(path, sound.split('\n')[1]!.slice(0, 50)); // half of a third record, no newline

  const reopened = await openStore(dir);
  t.deepEqual(reopened.damage(), []);
  t.deepEqual(
    (await reopened.list()).map((e) => e.seq),
    [2, 1],
  );
  t.is(await readFile(path, 'utf8'), sound, 'the torn tail is cut on disk');
  t.is(await reopened.append(decision(3, '2025-05-03T00:00:00Z')), 'appended');
  t.deepEqual(
    (await (await openStore(dir)).list()).map((e) => e.seq),
    [3, 2, 1],
  );
});

test('A missing index is rebuilt from the partitions at open', async (t) => {
  const dir = await tempDir(t);
  const history = await seedHistory(dir, 3, 4);
  t.false(await exists(join(dir, 'index.json')));
  const store = await openStore(dir);
  t.like(await store.get(`${CARD}:decision:6`), { seq: 6, time: '2010-02-01T01:00:00.000Z' });
  t.is((await store.list()).length, history.seq);
  await unlink(join(dir, 'index.json'));
  await writeFile(join(dir, 'index.json'), 'garbage');
  t.is((await (await openStore(dir)).list({ limit: 1 }))[0]?.seq, 12);
});

test('When a month is damaged, it is refused as corrupt on use and at open, never replaced, while the other months keep serving', async (t) => {
  const dir = await tempDir(t);
  await seedHistory(dir, 3, 4);
  const store = await openStore(dir);
  const path = join(dir, '2010-01.jsonl');
  const lines = (await readFile(path, 'utf8')).split('\n');
  const garbled = [lines[0], lines[1]!.replace('"seq":2', '"seq":9'), ...lines.slice(2)].join('\n');
  await writeFile(path, garbled);

  t.deepEqual(
    (await store.list({ limit: 3 })).map((e) => e.seq),
    [12, 11, 10],
  );
  t.like(await store.get(`${CARD}:decision:7`), { seq: 7 });
  const error = await t.throwsAsync(store.get(`${CARD}:decision:2`));
  t.true(isHistoryError(error, 'corrupt'));
  t.like((error as HistoryError).context, { path });
  t.deepEqual(await store.check(), [{ path, month: '2010-01', reason: 'corrupt' }], 'the damage found on use is kept');
  t.true(isHistoryError(await t.throwsAsync(store.append(decision(13, '2010-01-20T00:00:00Z'))), 'corrupt'));
  t.is(await readFile(path, 'utf8'), garbled, 'never replaced');

  const reopened = await openStore(dir);
  t.deepEqual(reopened.damage(), [{ path, month: '2010-01', reason: 'corrupt' }], 'found at open');
  t.deepEqual(
    (await reopened.list({ limit: 2 })).map((e) => e.seq),
    [12, 11],
  );
  t.deepEqual(
    (await reopened.list()).map((e) => e.seq),
    [12, 11, 10, 9, 8, 7, 6, 5, 1],
    'a listing serves the records of the damaged month before its damage',
  );
  t.deepEqual(
    reopened.damage().map((d) => d.reason),
    ['corrupt'],
    'and the month stays damaged',
  );
});

test('When a month file the index names is deleted, the month is reported missing, not read as empty', async (t) => {
  const dir = await tempDir(t);
  await seedHistory(dir, 3, 4);
  await openStore(dir);
  await unlink(join(dir, '2010-02.jsonl'));
  const store = await openStore(dir);
  t.deepEqual(store.damage(), [{ path: join(dir, '2010-02.jsonl'), month: '2010-02', reason: 'missing' }]);
  t.true(isHistoryError(await t.throwsAsync(store.get(`${CARD}:decision:6`)), 'corrupt'));
  t.like(await store.get(`${CARD}:decision:10`), { seq: 10 });
});

test('When a month was written by an earlier version as one JSON document, open converts it to a log with the same entries', async (t) => {
  const dir = await tempDir(t);
  await seedHistory(dir, 2, 3);
  const store = await openStore(dir);
  t.false(await exists(join(dir, '2010-01.json')));
  t.true(await exists(join(dir, '2010-01.jsonl')));
  t.deepEqual(
    (await store.list()).map((e) => e.seq),
    [6, 5, 4, 3, 2, 1],
  );
});

test('listPending names every paid, unpresented decision of every month, and forgets it once presented or cancelled', async (t) => {
  const dir = await tempDir(t);
  const store = await openStore(dir, { cachedPartitions: 1 });
  await store.append(decision(1, '2024-01-05T00:00:00Z', { presented: false }));
  for (let seq = 2; seq < 40; seq++) await store.append(decision(seq, `2025-0${1 + (seq % 5)}-05T00:00:00Z`, { presented: true }));
  await store.append(decision(40, '2025-06-05T00:00:00Z', { presented: false }));
  await store.append(decision(41, '2025-06-06T00:00:00Z', { presented: false }));
  t.deepEqual(
    (await store.listPending()).map((e) => e.seq),
    [41, 40, 1],
  );
  await store.update(`${CARD}:decision:40`, { presented: true });
  await store.update(`${CARD}:decision:41`, { status: 'cancelled' });
  t.deepEqual(
    (await store.listPending()).map((e) => e.seq),
    [1],
  );
  t.deepEqual(
    (await (await openStore(dir)).listPending()).map((e) => e.seq),
    [1],
    'rebuilt at open',
  );
});
