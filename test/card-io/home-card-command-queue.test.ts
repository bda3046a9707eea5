/**
 * The command queue: one card command at a time, FIFO, a per-command timeout,
 * and a timed-out command never overlapping the next.
 */
import test from 'ava';
import { CardErrorCode, isCardError, type CardError } from '../../card-io/errors.js';
import { CommandQueue, DEFAULT_COMMAND_TIMEOUT_MS } from '../../card-io/home-card/index.js';

/** A promise with its resolve and reject exposed, to settle a fake command by hand. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

test('A second command starts only after the first has settled', async (t) => {
  const queue = new CommandQueue();
  const events: string[] = [];
  const first = deferred<string>();
  const a = queue.run('A', async () => {
    events.push('A start');
    const v = await first.promise;
    events.push('A end');
    return v;
  });
  const b = queue.run('B', async () => {
    events.push('B start');
    return 'b';
  });
  await tick();
  await tick();
  t.deepEqual(events, ['A start']);
  first.resolve('a');
  t.deepEqual(await Promise.all([a, b]), ['a', 'b']);
  t.deepEqual(events, ['A start', 'A end', 'B start']);
});

test('Commands run in the order they were queued, and a failing one does not stop the next', async (t) => {
  const queue = new CommandQueue();
  const order: number[] = [];
  const runs = [1, 2, 3, 4].map((n) =>
    queue.run(`C${n}`, async () => {
      order.push(n);
      if (n === 2) throw new Error('card said no');
      return n;
    }),
  );
  const results = await Promise.allSettled(runs);
  t.deepEqual(order, [1, 2, 3, 4]);
  t.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
  );
});

test('A command that throws synchronously rejects its caller and the queue goes on', async (t) => {
  const queue = new CommandQueue();
  await t.throwsAsync(
    queue.run('SYNC', () => {
      throw new Error('boom');
    }),
    { message: 'boom' },
  );
  t.is(await queue.run('NEXT', async () => 'ok'), 'ok');
});

test('A command that runs longer than the timeout rejects with CommandTimeout', async (t) => {
  const queue = new CommandQueue({ timeoutMs: 20 });
  const never = deferred<void>();
  const e = await t.throwsAsync<CardError>(queue.run('VERIFY', () => never.promise));
  t.true(isCardError(e, CardErrorCode.CommandTimeout));
  t.is(e?.message, 'VERIFY timed out after 20 ms (HG-303)');
  t.like(e?.context, { command: 'VERIFY', timeoutMs: 20 });
  never.resolve();
});

test('A timed-out command does not overlap the next: the next starts after the transmit settles', async (t) => {
  const queue = new CommandQueue({ timeoutMs: 20 });
  const events: string[] = [];
  const slow = deferred<string>();
  const first = queue.run('SLOW', async () => {
    events.push('slow start');
    const v = await slow.promise;
    events.push('slow end');
    return v;
  });
  const second = queue.run('NEXT', async () => {
    events.push('next start');
    return 'next';
  });
  await t.throwsAsync(first, { instanceOf: Error, message: /timed out/ });
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.deepEqual(events, ['slow start'], 'the next command waits although the first timed out');
  t.is(queue.size, 2);
  slow.resolve('late');
  t.is(await second, 'next');
  t.deepEqual(events, ['slow start', 'slow end', 'next start']);
  t.is(queue.size, 0);
});

test('The timeout counts from the start of a command, not from when it was queued', async (t) => {
  const queue = new CommandQueue({ timeoutMs: 50 });
  const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const a = queue.run('A', () => wait(35));
  const b = queue.run('B', () => wait(35)); // queued for 35 ms, runs 35 ms: within its own 50 ms
  await t.notThrowsAsync(Promise.all([a, b]));
});

test('The timeout defaults to 10000 ms and must be an integer from 1 to 600000', (t) => {
  t.is(new CommandQueue().timeoutMs, DEFAULT_COMMAND_TIMEOUT_MS);
  t.is(DEFAULT_COMMAND_TIMEOUT_MS, 10_000);
  for (const timeoutMs of [0, -5, 1.5, 600_001, Number.NaN]) {
    const e = t.throws(() => new CommandQueue({ timeoutMs }));
    t.true(isCardError(e, CardErrorCode.InvalidArgument), String(timeoutMs));
  }
});
