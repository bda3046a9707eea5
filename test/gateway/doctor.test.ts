/**
 * `homegate doctor` as a real process on a real data directory: it reports
 * damage without changing a byte, repairs what it can with --repair (torn
 * tails cut, damaged files moved aside with their verified records kept),
 * and exits with the documented codes.
 */
import test from 'ava';
import { appendFile, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../card-io/base/log.js';
import { PaymentIntents } from '../../gateway/emoney/payment-intents.js';
import { HistoryStore, type NewHistoryEntry } from '../../gateway/history/index.js';
import { Registry } from '../../gateway/registry/index.js';
import { createNotification } from '../../gateway/notify/notification.js';
import { Outbox } from '../../gateway/notify/outbox.js';
import { runCli } from './cli-process.js';

const CARD = '0102030405060708';
const decision = (seq: number, time: string): NewHistoryEntry => ({
  kind: 'decision',
  cardId: CARD,
  seq,
  market: 'shop.example',
  orderId: `o-${seq}`,
  amount: 100,
  currency: 'EUR',
  time,
  status: 'paid',
  signedRecord: 'AQID',
});

async function household(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hg-doctor-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const registry = new Registry({ path: join(dir, 'registry.json'), logger: silentLogger });
  await registry.open();
  await registry.addTerminal({ name: 'phone', mail: 'a@example.org', certFingerprint: 'ab'.repeat(32) });
  const store = await HistoryStore.open({ dir: join(dir, 'history'), logger: silentLogger });
  for (let seq = 1; seq <= 3; seq++) await store.append(decision(seq, `2025-01-0${seq}T00:00:00Z`));
  for (let seq = 4; seq <= 6; seq++) await store.append(decision(seq, `2025-02-0${seq}T00:00:00Z`));
  await new PaymentIntents(join(dir, 'payment-intents.jsonl')).record({ terminalId: 't', mail: 'a@example.org', market: 'shop.example', orderId: 'o-7' });
  return dir;
}

interface Report {
  healthy: boolean;
  files: Array<{ file: string; status: string; detail?: string }>;
}
const doctor = async (dir: string, ...args: string[]) => {
  const r = await runCli(['--data', dir, 'doctor', '--json', ...args]);
  return { code: r.code, report: JSON.parse(r.stdout || '{}') as Report, stderr: r.stderr };
};
const statusOf = (report: Report, file: string) => report.files.find((f) => f.file === file)?.status;

test('When every durable file is sound, doctor reports each ok and exits 0', async (t) => {
  const dir = await household(t);
  const { code, report } = await doctor(dir);
  t.is(code, 0);
  t.true(report.healthy);
  t.deepEqual(
    report.files.map((f) => [f.file, f.status]),
    [
      ['registry.json', 'ok'],
      ['history/2025-01.jsonl', 'ok'],
      ['history/2025-02.jsonl', 'ok'],
      ['payment-intents.jsonl', 'ok'],
    ],
  );
});

test(
  'When a month is garbled, doctor reports it corrupt and exits 2 without changing it; --repair moves it aside, keeps its verified entries and exits ' + '0',
  async (t) => {
    const dir = await household(t);
    const path = join(dir, 'history', '2025-01.jsonl');
    const lines = (await readFile(path, 'utf8')).split('\n');
    const garbled = [lines[0], lines[1]!.replace('"o-2"', '"o-9"'), ...lines.slice(2)].join('\n');
    await writeFile(path, garbled);
    await appendFile(join(dir, 'history', '2025-02.jsonl'), '5a5a'); // a torn tail elsewhere

    const checked = await doctor(dir);
    t.is(checked.code, 2);
    t.is(statusOf(checked.report, 'history/2025-01.jsonl'), 'corrupt');
    t.is(statusOf(checked.report, 'history/2025-02.jsonl'), 'repaired-tail');
    t.is(await readFile(path, 'utf8'), garbled, 'a check changes nothing');

    const repaired = await doctor(dir, '--repair');
    t.is(repaired.code, 0, repaired.stderr);
    t.is(statusOf(repaired.report, 'history/2025-01.jsonl'), 'repaired');
    const aside = (await readdir(join(dir, 'history'))).filter((n) => n.startsWith('2025-01.jsonl.corrupt-'));
    t.is(aside.length, 1);
    t.is(await readFile(join(dir, 'history', aside[0]!), 'utf8'), garbled, 'the damaged file is kept for inspection');
    const store = await HistoryStore.open({ dir: join(dir, 'history'), logger: silentLogger });
    t.deepEqual(store.damage(), []);
    t.deepEqual(
      (await store.list()).map((e) => e.seq),
      [6, 5, 4, 3, 1],
      'every entry that verifies is kept',
    );
    t.is((await doctor(dir)).code, 0);
  },
);

test('When registry.json is deleted, doctor reports it missing and --repair leaves it to a backup (exit 3)', async (t) => {
  const dir = await household(t);
  await unlink(join(dir, 'registry.json'));
  const checked = await doctor(dir);
  t.is(checked.code, 2);
  t.is(statusOf(checked.report, 'registry.json'), 'missing');
  const repaired = await doctor(dir, '--repair');
  t.is(repaired.code, 3);
  t.is(statusOf(repaired.report, 'registry.json'), 'missing');
  await t.throwsAsync(readFile(join(dir, 'registry.json')), { code: 'ENOENT' }, 'no empty registry was written');
});

test('When a history month named by the index is deleted, doctor reports it missing and --repair drops it from the index', async (t) => {
  const dir = await household(t);
  await unlink(join(dir, 'history', '2025-02.jsonl'));
  t.is(statusOf((await doctor(dir)).report, 'history/2025-02.jsonl'), 'missing');
  t.is((await doctor(dir, '--repair')).code, 0);
  const store = await HistoryStore.open({ dir: join(dir, 'history'), logger: silentLogger });
  t.deepEqual(store.damage(), []);
  t.deepEqual(
    (await store.list()).map((e) => e.seq),
    [3, 2, 1],
  );
});

test(
  'When the outbox log is damaged, doctor reports it corrupt without changing it; ' +
    '--repair moves it aside and keeps every verified notification, which the outbox then opens',
  async (t) => {
    const dir = await household(t);
    const outbox = await Outbox.open({ dataDir: dir });
    const mail = (seq: number) =>
      createNotification({
        type: 'decision',
        cardId: CARD,
        seq,
        terminalId: 'a1b2c3d4e5f60718',
        mail: 'a@example.org',
        record: {
          seq,
          cardId: CARD,
          market: 'shop.example',
          orderId: `o-${seq}`,
          amount: 100,
          currency: 'EUR',
          time: '2025-02-01T00:00:00.000Z',
          status: 'paid',
        },
      });
    for (const seq of [1, 2, 3]) await outbox.enqueue(mail(seq), ['mqtt']);
    const path = join(dir, 'outbox', 'outbox.log');
    const lines = (await readFile(path, 'utf8')).split('\n');
    const garbled = [lines[0], lines[1]!.replace('"o-2"', '"o-9"'), ...lines.slice(2)].join('\n');
    await writeFile(path, garbled);
    await t.throwsAsync(Outbox.open({ dataDir: dir }), { message: /outbox\.log/ });

    const checked = await doctor(dir);
    t.is(checked.code, 2);
    t.is(statusOf(checked.report, 'outbox/outbox.log'), 'corrupt');
    t.is(await readFile(path, 'utf8'), garbled);

    const repaired = await doctor(dir, '--repair');
    t.is(repaired.code, 0);
    t.is(statusOf(repaired.report, 'outbox/outbox.log'), 'repaired');
    t.true((await readdir(join(dir, 'outbox'))).some((n) => n.startsWith('outbox.log.corrupt-')));
    const reopened = await Outbox.open({ dataDir: dir });
    t.deepEqual(
      reopened.pendingFor('mqtt').map((n) => n.id),
      [mail(1).id, mail(3).id],
    );
  },
);
