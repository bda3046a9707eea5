/**
 * The backup's write gate: a snapshot waits for operations in flight, holds
 * new ones back while it runs, and an operation nested in another never waits
 * for a snapshot that waits for it.
 */
import test from 'ava';
import { WriteGate } from '../../gateway/backup/write-gate.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

test('A snapshot starts only once the operations in flight have finished, and holds new ones back until it is done', async (t) => {
  const gate = new WriteGate();
  const order: string[] = [];
  let finishOp!: () => void;
  const op = gate.shared(async () => {
    order.push('op start');
    await new Promise<void>((r) => (finishOp = r));
    order.push('op end');
  });
  await tick();
  let finishSnapshot!: () => void;
  const snapshot = gate.exclusive(async () => {
    order.push('snapshot start');
    await new Promise<void>((r) => (finishSnapshot = r));
    order.push('snapshot end');
  });
  await tick();
  t.deepEqual(order, ['op start']);
  finishOp();
  await op;
  await tick();
  const later = gate.shared(async () => void order.push('later op'));
  await tick();
  t.deepEqual(order, ['op start', 'op end', 'snapshot start']);
  finishSnapshot();
  await Promise.all([snapshot, later]);
  t.deepEqual(order, ['op start', 'op end', 'snapshot start', 'snapshot end', 'later op']);
});

test('An operation that starts another inside itself finishes while a snapshot waits', async (t) => {
  const gate = new WriteGate();
  let release!: () => void;
  const outer = gate.shared(async () => {
    await new Promise<void>((r) => (release = r));
    return gate.shared(async () => 'inner');
  });
  await tick();
  const snapshot = gate.exclusive(async () => 'snapshot');
  release();
  t.is(await outer, 'inner');
  t.is(await snapshot, 'snapshot');
});
