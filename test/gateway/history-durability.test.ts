import test from 'ava';
import { mkdir, mkdtemp, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../card-io/log.js';
import { HistoryStore, isHistoryError, type HistoryEntry, type HistoryStoreOptions, type NewHistoryEntry } from '../../gateway/history/index.js';

type Teardown = { teardown(fn: () => Promise<void>): void };
const CARD = '0102030405060708';
const exists = (path: string) => stat(path).then(() => true, () => false);

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
    kind: 'decision', cardId: CARD, seq, market: 'shop.example', orderId: `order-${seq}`, amount: 1250, currency: 'EUR', time, status: 'paid',
    // A signed record is ~170 bytes of TLV (E1 record ‖ DF5E signature): ~230 characters of base64.
    signedRecord: Buffer.alloc(170, seq % 256).toString('base64'), terminalId: 'a1b2c3d4e5f60718', archivedAt: time, ...extra,
  };
}

/** `months` month partitions of `perMonth` decisions each, written as files (as an older store would have left them). */
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

test('A write touches only its month partition: the other months keep their inode, size and mtime', async (t) => {
  const dir = await tempDir(t);
  const store = await openStore(dir);
  for (const [seq, time] of [[1, '2025-01-05T00:00:00Z'], [2, '2025-02-05T00:00:00Z'], [3, '2025-03-05T00:00:00Z']] as const) {
    await store.append(decision(seq, time));
  }
  const snapshot = async (file: string) => {
    const s = await stat(join(dir, file));
    return { ino: s.ino, size: s.size, mtimeMs: s.mtimeMs, text: await readFile(join(dir, file), 'utf8') };
  };
  const [january, february, march] = await Promise.all(['2025-01.json', '2025-02.json', '2025-03.json'].map(snapshot));

  await store.append(decision(4, '2025-02-20T00:00:00Z'));
  await store.update(`${CARD}:decision:2`, { status: 'cancelled' });
  t.deepEqual(await snapshot('2025-01.json'), january);
  t.deepEqual(await snapshot('2025-03.json'), march);
  t.not((await snapshot('2025-02.json')).ino, february!.ino, 'February was replaced');

  const index = await snapshot('index.json');
  const februaryNow = await snapshot('2025-02.json');
  await store.update(`${CARD}:decision:1`, { presented: true });
  t.deepEqual(await snapshot('index.json'), index, 'an update does not rewrite the index');
  t.deepEqual(await snapshot('2025-02.json'), februaryNow);
  t.deepEqual(await snapshot('2025-03.json'), march);
  t.not((await snapshot('2025-01.json')).ino, january!.ino, 'January was replaced');
});

test('Bytes written per append stay flat whether 1 000 or 10 000 entries are archived before it', async (t) => {
  // The same household activity (100 decisions a month) over 10 and over 100 months.
  const smallDir = await tempDir(t);
  const largeDir = await tempDir(t);
  const small = await bytesPerAppend(smallDir, await seedHistory(smallDir, 10, 100));
  const large = await bytesPerAppend(largeDir, await seedHistory(largeDir, 100, 100));
  const totalLarge = (await Promise.all(Array.from({ length: 100 }, (_, m) => stat(join(largeDir, `${new Date(Date.UTC(2010, m, 1)).toISOString().slice(0, 7)}.json`))))).reduce((n, s) => n + s.size, 0);
  t.log({ small: Math.round(small), large: Math.round(large), totalLarge });
  t.true(large < small * 1.5, `per append: ${large} bytes after 10 000 entries vs ${small} after 1 000`);
  t.true(large < totalLarge / 50, 'an append rewrites a small fraction of the history');
});

test('A crash between writing the temp file and renaming it leaves the partition loadable with its old content', async (t) => {
  const dir = await tempDir(t);
  let crash = false;
  const store = await openStore(dir, {
    rename: async (from, to) => {
      if (crash && to.endsWith('2025-05.json')) throw Object.assign(new Error('power lost before rename'), { code: 'EIO' });
      await rename(from, to);
    },
  });
  await store.append(decision(1, '2025-05-01T00:00:00Z'));
  const path = join(dir, '2025-05.json');
  const before = await readFile(path, 'utf8');

  crash = true;
  await t.throwsAsync(store.append(decision(2, '2025-05-02T00:00:00Z')), { message: /power lost/ });
  await t.throwsAsync(store.update(`${CARD}:decision:1`, { status: 'cancelled' }), { message: /power lost/ });
  t.is(await readFile(path, 'utf8'), before);
  t.is(await store.get(`${CARD}:decision:2`), undefined, 'a failed write changes nothing in memory either');
  t.like(await store.get(`${CARD}:decision:1`), { status: 'paid' });

  // A real power cut leaves the temp file behind, half written.
  await writeFile(`${path}.tmp`, '{"version":1,"month":"2025-05","entr');
  const reopened = await openStore(dir);
  t.deepEqual((await reopened.list()).map((e) => [e.seq, e.status]), [[1, 'paid']]);
  t.false(await exists(`${path}.tmp`));

  crash = false;
  t.is(await store.append(decision(2, '2025-05-02T00:00:00Z')), 'appended', 'the store works again once the disk does');
  t.deepEqual((await (await openStore(dir)).list()).map((e) => e.seq), [2, 1]);
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

test('Recent entries are read without touching older partitions, and a damaged partition is reported as corrupt', async (t) => {
  const dir = await tempDir(t);
  await seedHistory(dir, 3, 4);
  const store = await openStore(dir); // builds the index while the files are sound
  await writeFile(join(dir, '2010-01.json'), '{"version":1,"month":"2010-01","entries":[{"kind":"decision"}]}');

  t.deepEqual((await store.list({ limit: 3 })).map((e) => e.seq), [12, 11, 10]);
  t.like(await store.get(`${CARD}:decision:7`), { seq: 7 });
  const error = await t.throwsAsync(store.get(`${CARD}:decision:2`));
  t.true(isHistoryError(error, 'corrupt'));
  t.is(await readFile(join(dir, '2010-01.json'), 'utf8'), '{"version":1,"month":"2010-01","entries":[{"kind":"decision"}]}', 'never replaced');
});
