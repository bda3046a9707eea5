import test from 'ava';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../card-io/base/log.js';
import { isRegistryError, Registry } from '../../gateway/registry/index.js';
import { fingerprint, openRegistry, tempRegistryPath } from './registry-fixtures.js';

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

test('Concurrent changes are written one at a time and all of them survive a reopen', async (t) => {
  const path = await tempRegistryPath(t);
  let inFlight = 0;
  let maxInFlight = 0;
  let renames = 0;
  // A slow rename widens the window in which an unserialized write would overlap.
  const slowRename = async (from: string, to: string) => {
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    await sleep(5);
    await rename(from, to);
    renames++;
    inFlight--;
  };
  const registry = await openRegistry(path, { rename: slowRename });
  const added = await Promise.all(
    Array.from({ length: 12 }, (_, i) => registry.addTerminal({ name: `t${i}`, mail: `t${i}@example.org`, certFingerprint: fingerprint(`t${i}`) })),
  );
  t.is(maxInFlight, 1);
  t.is(renames, 12);
  const reopened = await openRegistry(path);
  t.deepEqual(
    reopened
      .listTerminals()
      .map((x) => x.id)
      .sort(),
    added.map((x) => x.id).sort(),
  );
});

test('A crash between writing the temp file and renaming it leaves the old file loadable and the state unchanged', async (t) => {
  const path = await tempRegistryPath(t);
  let crash = false;
  const registry = await openRegistry(path, {
    rename: async (from, to) => {
      if (crash) throw Object.assign(new Error('power lost before rename'), { code: 'EIO' });
      await rename(from, to);
    },
  });
  const kept = await registry.addTerminal({ name: 'kept', mail: 'k@example.org', certFingerprint: fingerprint('kept') });
  const before = await readFile(path, 'utf8');

  crash = true;
  await t.throwsAsync(registry.addTerminal({ name: 'lost', mail: 'l@example.org', certFingerprint: fingerprint('lost') }), { message: /power lost/ });
  t.deepEqual(registry.listTerminals(), [kept], 'a failed write changes nothing in memory either');
  t.is(await readFile(path, 'utf8'), before);
  t.false(await exists(`${path}.tmp`));

  const reopened = await openRegistry(path);
  t.deepEqual(reopened.listTerminals(), [kept]);
  crash = false;
  await t.notThrowsAsync(registry.addTerminal({ name: 'later', mail: 'x@example.org', certFingerprint: fingerprint('later') }));
});

test('A half-written temp file left by a power cut is ignored and removed on open', async (t) => {
  const path = await tempRegistryPath(t);
  const registry = await openRegistry(path);
  const kept = await registry.addTerminal({ name: 'kept', mail: 'k@example.org', certFingerprint: fingerprint('kept') });
  await writeFile(`${path}.tmp`, '{"version":1,"terminals":[{"id":"tor');

  const reopened = await openRegistry(path);
  t.deepEqual(reopened.listTerminals(), [kept]);
  t.false(await exists(`${path}.tmp`));
});

for (const [what, content] of [
  ['truncated JSON', '{"version":1,"terminals":['],
  ['an empty file', ''],
  ['JSON that is not a registry', '{"version":1,"terminals":"nope","markets":[],"settings":{}}'],
  [
    'a terminal with a malformed fingerprint',
    '{"version":1,"terminals":[{"id":"0123456789abcdef","name":"a","mail":"a@b",' +
      '"certFingerprint":"xyz","status":"active","created":"","lastSeen":null}],"markets":[],"settings":{}}',
  ],
] as const) {
  test(`A registry file holding ${what} is a corrupt error and the file is never overwritten`, async (t) => {
    const path = await tempRegistryPath(t);
    await openRegistry(path); // creates the directory
    await writeFile(path, content);
    const err = await t.throwsAsync(openRegistry(path));
    t.true(isRegistryError(err, 'corrupt'));
    t.is(await readFile(path, 'utf8'), content);
  });
}

test('After a failed open nothing can be written over the corrupt file', async (t) => {
  const path = await tempRegistryPath(t);
  await openRegistry(path);
  await writeFile(path, 'garbage');
  const registry = new Registry({ path, logger: silentLogger });
  await t.throwsAsync(registry.open());
  const err = await t.throwsAsync(registry.addTerminal({ name: 'a', mail: 'a@example.org', certFingerprint: fingerprint('a') }));
  t.true(isRegistryError(err, 'not-open'));
  t.is(await readFile(path, 'utf8'), 'garbage');
});
