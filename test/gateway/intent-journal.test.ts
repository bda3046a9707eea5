import test from 'ava';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRecordLogError } from '../../card-io/base/durable/record-log.js';
import { LoadIntents, PaymentIntents } from '../../gateway/emoney/payment-intents.js';

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hg-intents-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const intent = (orderId: string) => ({ terminalId: 't1', mail: 'a@example.org', market: 'shop.example', orderId });

test('When intents are recorded, each costs one appended line (and at most the rest of its page, filled) whatever the journal holds, and a reopened journal finds them', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'payment-intents.jsonl');
  const intents = new PaymentIntents(path);
  const sizes: number[] = [];
  for (let i = 0; i < 200; i++) {
    const before = await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    await intents.record(intent(`order-${i}`));
    const after = (await stat(path)).size;
    // A bigger append is the intent plus a no-op filler completing its 4 KiB page (record-log.ts, fillPageBelow).
    if (after - before >= 200) t.is(after % 4096, 0, `append ${i} of ${after - before} bytes completes a page`);
    else sizes.push(after - before);
  }
  t.true(Math.max(...sizes) < 200, `bytes per intent: ${Math.max(...sizes)}`);
  const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
  t.is(lines.filter((l) => l.includes('"add"')).length, 200, 'one line per intent, nothing rewritten');
  t.true(
    lines.every((l) => l.includes('"add"') || /^\S{8} \{"drop":\[\] +\}$/.test(l)),
    'the other lines are fillers',
  );
  const reopened = new PaymentIntents(path);
  t.like(await reopened.find('shop.example', 'order-0'), { terminalId: 't1' });
  t.like(await reopened.find('shop.example', 'order-199'), { terminalId: 't1' });
  t.is(await reopened.find('shop.example', 'order-200'), undefined);
});

test('When a load intent is cleared, a reopened journal no longer has it, and re-recording the same counter replaces it', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'load-intents.jsonl');
  const loads = new LoadIntents(path);
  const load = { terminalId: 't1', mail: 'a@example.org', cardId: 'c1', amount: 500, currency: 'EUR', counter: 7, balance: 1500 };
  await loads.record(load);
  await loads.record({ ...load, amount: 600 });
  await loads.record({ ...load, counter: 8 });
  await loads.clear('c1', 8);
  t.deepEqual(
    (await new LoadIntents(path).pending()).map((x) => [x.counter, x.amount]),
    [[7, 600]],
  );
});

test('When the journal of an earlier version is a JSON array, it is converted and its intents kept', async (t) => {
  const dir = await tempDir(t);
  const legacy = join(dir, 'payment-intents.json');
  await writeFile(legacy, JSON.stringify([{ ...intent('old'), at: new Date().toISOString() }]));
  const intents = new PaymentIntents(join(dir, 'payment-intents.jsonl'), legacy);
  t.like(await intents.find('shop.example', 'old'), { terminalId: 't1' });
  await t.throwsAsync(stat(legacy));
  t.like(await new PaymentIntents(join(dir, 'payment-intents.jsonl')).find('shop.example', 'old'), { terminalId: 't1' });
});

test('When the journal is damaged, opening it fails with corrupt naming the file, and it is never read as empty', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'payment-intents.jsonl');
  await new PaymentIntents(path).record(intent('a'));
  await new PaymentIntents(path).record(intent('b'));
  const text = await readFile(path, 'utf8');
  await writeFile(path, text.replace('"orderId":"a"', '"orderId":"x"'));
  const intents = new PaymentIntents(path);
  const error = await t.throwsAsync(intents.open());
  t.true(isRecordLogError(error, 'corrupt'));
  t.regex(error!.message, /payment-intents\.jsonl/);
  t.true(isRecordLogError(await t.throwsAsync(intents.record(intent('c'))), 'corrupt'), 'nor written over');
});
