import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecordLog } from '../../card-io/base/durable/record-log.js';
import { silentLogger } from '../../card-io/base/log.js';
import { SeenMailJournal } from '../../gateway/cli/seen-mail-journal.js';
import { LoadIntents, PaymentIntents } from '../../gateway/emoney/payment-intents.js';
import { HistoryStore } from '../../gateway/history/index.js';

const CHILD = fileURLToPath(new URL('./record-log-child.js', import.meta.url));

/** Runs the appending child until it acknowledged `acks` more records, then SIGKILLs it. Resolves to the last acknowledged n. */
function appendThenKill(path: string, acks: number, padBytes: number, kind = 'log'): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, kind, path, String(padBytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let seen = 0;
    let last = -1;
    let buffer = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        last = Number(line);
        if (++seen === acks) child.kill('SIGKILL'); // while the next append is in flight
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve(last) : reject(new Error(`child exited without SIGKILL (${signal})`))));
  });
}

test('When the writer is SIGKILLed mid-append, every acknowledged record survives and at most the one being written is lost', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hg-record-log-kill-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'events.log');
  // Large records make a kill inside write(2) likely; small ones a kill between write and fdatasync.
  const rounds = [
    [20, 16],
    [7, 200_000],
    [13, 64],
    [3, 500_000],
    [11, 4096],
  ] as const;
  let acknowledged = -1;
  for (const [acks, pad] of rounds) {
    acknowledged = await appendThenKill(path, acks, pad);
    const { records } = await RecordLog.open<{ n: number }>(path);
    const ns = records.map((r) => r.n);
    t.deepEqual(
      ns,
      ns.map((_, i) => i),
      'no record is lost or doubled before the tail',
    );
    t.true(ns.length - 1 >= acknowledged, `acknowledged ${acknowledged}, found up to ${ns.length - 1}`);
    t.true(ns.length - 1 <= acknowledged + 1, 'at most the record in flight was added');
  }
});

test('When the gateway is SIGKILLed while archiving, every acknowledged history entry survives and the month opens sound', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hg-history-kill-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const history = join(dir, 'history');
  for (const acks of [5, 17, 9]) {
    const acknowledged = await appendThenKill(history, acks, 0, 'history');
    const store = await HistoryStore.open({ dir: history, logger: silentLogger });
    t.deepEqual(store.damage(), []);
    const seqs = (await store.list()).map((e) => e.seq).sort((a, b) => a - b);
    t.deepEqual(
      seqs,
      seqs.map((_, i) => i),
    );
    t.true(seqs.length - 1 >= acknowledged && seqs.length - 1 <= acknowledged + 1, `acknowledged ${acknowledged}, found up to ${seqs.length - 1}`);
  }
});

test('When the gateway is SIGKILLed while journaling intents, every acknowledged intent survives', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hg-intents-kill-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'payment-intents.jsonl');
  const acknowledged = await appendThenKill(path, 25, 0, 'intents');
  const intents = new PaymentIntents(path);
  for (let n = 0; n <= acknowledged; n++) t.truthy(await intents.find('shop.example', `order-${n}`), `order-${n}`);
});

test('When the gateway is SIGKILLed while group-committing payments and marking them presented and mailed, every acknowledged one survives, presented and mailed, and only an unacknowledged one is left to mail', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hg-history-group-kill-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const history = join(dir, 'history');
  const acked = new Set<number>(); // every round's acknowledged payments (a round starts after what the last one left)
  let start = 0;
  for (const acks of [5, 17, 9]) {
    const acknowledged = await appendThenKill(history, acks, 0, 'history-group');
    for (let n = start; n <= acknowledged; n++) acked.add(n);
    const store = await HistoryStore.open({ dir: history, logger: silentLogger });
    t.deepEqual(store.damage(), []);
    const entries = (await store.list()).sort((a, b) => a.seq - b.seq);
    t.deepEqual(
      entries.map((e) => e.seq),
      entries.map((_, i) => i),
      'no decision lost or doubled before the tail',
    );
    t.true(entries.length - 1 >= acknowledged && entries.length - 1 <= acknowledged + 1, `acknowledged ${acknowledged}, found up to ${entries.length - 1}`);
    t.true(
      entries.filter((e) => acked.has(e.seq)).every((e) => e.presented === true),
      'an acknowledged presentation mark is kept',
    );
    t.true(
      entries.filter((e) => acked.has(e.seq)).every((e) => e.mailed === true),
      'an acknowledged mail mark is kept',
    );
    const unmailed = await store.listUnmailed();
    t.true(
      unmailed.every((e) => !acked.has(e.seq)),
      'what is left to mail at start is only what was not acknowledged',
    );
    start = entries.length;
  }
});

test('When the gateway is SIGKILLed while journaling and clearing load intents, acknowledged ones survive and cleared ones stay cleared', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hg-load-intents-kill-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'load-intents.jsonl');
  const acknowledged = await appendThenKill(path, 30, 0, 'load-intents');
  const counters = new Set((await new LoadIntents(path).pending()).map((i) => i.counter));
  for (let n = 0; n <= acknowledged; n++) {
    const cleared = n % 2 === 1 && n + 1 <= acknowledged;
    // The step in flight when the kill came (record n + 1, then clear n) may have cleared the last acknowledged counter.
    if (n === acknowledged && n % 2 === 1 && counters.has(n + 1)) continue;
    t.is(counters.has(n), !cleared, `counter ${n} ${cleared ? 'cleared' : 'kept'}`);
  }
});

test('When the terminal is SIGKILLed while remembering shown mail, every acknowledged id survives and the journal opens sound', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hg-seen-mail-kill-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  let acknowledged = -1;
  for (const acks of [20, 7, 13]) {
    acknowledged = await appendThenKill(dir, acks, 0, 'seen-mail');
    const ids = [...(await SeenMailJournal.open(dir, { capacity: 1_000_000 })).ids];
    t.deepEqual(
      ids,
      ids.map((_, i) => `id-${i}`),
      'no id lost or doubled before the tail',
    );
    t.true(ids.length - 1 >= acknowledged && ids.length - 1 <= acknowledged + 1, `acknowledged ${acknowledged}, found up to ${ids.length - 1}`);
  }
});
