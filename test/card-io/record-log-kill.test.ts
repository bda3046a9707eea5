import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecordLog } from '../../card-io/base/durable/record-log.js';
import { silentLogger } from '../../card-io/base/log.js';
import { PaymentIntents } from '../../gateway/emoney/payment-intents.js';
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
