import test from 'ava';
import { ReplayGuard } from '../../gateway/terminal-api/replay-guard.js';

test('A nonce is fresh once and replayed until its window ends, then forgotten', (t) => {
  let now = 1_000_000;
  const guard = new ReplayGuard({ clock: () => now, pruneIntervalMs: 0 });
  t.is(guard.check('a:n1', now + 241_000), 'fresh');
  t.is(guard.check('a:n1', now + 241_000), 'replayed');
  t.is(guard.check('b:n1', now + 241_000), 'fresh', 'nonces are per terminal');
  now += 241_000;
  t.is(guard.check('a:n2', now + 1_000), 'fresh');
  t.is(guard.size, 1, 'expired nonces are pruned');
});

test('Under a flood the guard stays within its bound and an evicted nonce is still refused', (t) => {
  const now = 1_000_000;
  const guard = new ReplayGuard({ clock: () => now, maxEntries: 3 });
  for (let i = 0; i < 10; i++) t.is(guard.check(`a:n${i}`, now + 100_000 + i), 'fresh');
  t.is(guard.size, 3);
  // n0 was evicted long ago: its replay must not pass
  t.not(guard.check('a:n0', now + 100_000), 'fresh');
  t.is(guard.check('a:n9', now + 100_009), 'replayed');
  t.is(guard.check('a:new', now + 200_000), 'fresh', 'newer requests still get through');
});

test('A request whose window already ended is too old to record', (t) => {
  const guard = new ReplayGuard({ clock: () => 5_000 });
  t.is(guard.check('a:n', 5_000), 'too-old');
  t.is(guard.size, 0);
});
