import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Outbox } from '../../gateway/notify/outbox.js';
import { killDecision } from './outbox-kill-child.js';

const CHILD = fileURLToPath(new URL('./outbox-kill-child.js', import.meta.url));

interface Acked {
  added: number[];
  done: number[];
}

/** Runs the child from `first` until it printed `lines` acknowledgements, then SIGKILLs it (while its next write is in flight). */
function runThenKill(dataDir: string, first: number, lines: number, mode = 'sync'): Promise<Acked> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dataDir, String(first), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: Acked = { added: [], done: [] };
    let seen = 0;
    let buffer = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const line of parts) {
        const [kind, n] = line.split(' ');
        (kind === 'add' ? acked.added : acked.done).push(Number(n));
        if (++seen === lines) child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve(acked) : reject(new Error(`child exited without SIGKILL (${signal})`))));
  });
}

test(
  'When the gateway is SIGKILLed while queueing and acknowledging ' +
    'notifications, none acknowledged is lost, none delivered comes back, and none is doubled',
  async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hg-outbox-kill-'));
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    let next = 0;
    // Enough rounds and records that kills land mid-append, between append and fdatasync, and mid-compaction.
    for (const lines of [40, 7, 120, 13, 300, 1]) {
      const acked = await runThenKill(dataDir, next, lines);
      const outbox = await Outbox.open({ dataDir, deliveredCapacity: 1_000_000 });
      const pending = outbox.entries().map((e) => e.notification.id);
      t.is(new Set(pending).size, pending.length, 'no notification is queued twice');
      for (const n of acked.added) {
        const id = killDecision(n).id;
        t.true(pending.includes(id) || outbox.isDelivered(id), `acknowledged add ${n} survives`);
      }
      for (const n of acked.done) {
        const id = killDecision(n).id;
        t.true(outbox.isDelivered(id) && !pending.includes(id), `acknowledged delivery ${n} is not sent again`);
      }
      const last = Math.max(...acked.added);
      const known = (n: number) => pending.includes(killDecision(n).id) || outbox.isDelivered(killDecision(n).id);
      t.false(known(last + 2), 'nothing beyond the enqueue in flight appears');
      for (let n = 0; n <= last; n++) t.true(known(n), `${n} is pending or delivered`);
      for (const id of pending) t.false(outbox.isDelivered(id));
      next = known(last + 1) ? last + 2 : last + 1;
    }
  },
);

test(
  "When the gateway is SIGKILLed while group-committing notifications (a payment's mail), none acknowledged is lost, none delivered comes back, " +
    'and none is doubled',
  async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hg-outbox-group-kill-'));
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    let next = 0;
    // Enough rounds and records that kills land mid-append, between append and fdatasync, and mid-compaction.
    for (const lines of [40, 7, 120, 13, 300, 1]) {
      const acked = await runThenKill(dataDir, next, lines, 'group');
      const outbox = await Outbox.open({ dataDir, deliveredCapacity: 1_000_000 });
      const pending = outbox.entries().map((e) => e.notification.id);
      t.is(new Set(pending).size, pending.length, 'no notification is queued twice');
      for (const n of acked.added) {
        const id = killDecision(n).id;
        t.true(pending.includes(id) || outbox.isDelivered(id), `acknowledged add ${n} survives`);
      }
      for (const n of acked.done) {
        const id = killDecision(n).id;
        t.true(outbox.isDelivered(id) && !pending.includes(id), `acknowledged delivery ${n} is not sent again`);
      }
      const last = Math.max(...acked.added);
      const known = (n: number) => pending.includes(killDecision(n).id) || outbox.isDelivered(killDecision(n).id);
      t.false(known(last + 2), 'nothing beyond the enqueue in flight appears');
      for (let n = 0; n <= last; n++) t.true(known(n), `${n} is pending or delivered`);
      for (const id of pending) t.false(outbox.isDelivered(id));
      next = known(last + 1) ? last + 2 : last + 1;
    }
  },
);
