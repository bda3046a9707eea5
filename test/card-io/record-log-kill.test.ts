import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecordLog } from '../../card-io/durable/record-log.js';

const CHILD = fileURLToPath(new URL('./record-log-child.js', import.meta.url));

/** Runs the appending child until it acknowledged `acks` more records, then SIGKILLs it. Resolves to the last acknowledged n. */
function appendThenKill(path: string, acks: number, padBytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, path, String(padBytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
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
  const rounds = [[20, 16], [7, 200_000], [13, 64], [3, 500_000], [11, 4096]] as const;
  let acknowledged = -1;
  for (const [acks, pad] of rounds) {
    acknowledged = await appendThenKill(path, acks, pad);
    const { records } = await RecordLog.open<{ n: number }>(path);
    const ns = records.map((r) => r.n);
    t.deepEqual(ns, ns.map((_, i) => i), 'no record is lost or doubled before the tail');
    t.true(ns.length - 1 >= acknowledged, `acknowledged ${acknowledged}, found up to ${ns.length - 1}`);
    t.true(ns.length - 1 <= acknowledged + 1, 'at most the record in flight was added');
  }
});
