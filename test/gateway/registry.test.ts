import test from 'ava';
import { readFile, rename, stat, unlink } from 'node:fs/promises';
import { isRegistryError, Registry, TOUCH_INTERVAL_MS, TOUCH_PERSIST_MS } from '../../gateway/registry/index.js';
import { silentLogger } from '../../card-io/base/log.js';
import { fingerprint, marketAnchorPem, openRegistry, tempRegistryPath } from './registry-fixtures.js';

test('Terminals, markets and settings survive closing and reopening the registry', async (t) => {
  const path = await tempRegistryPath(t);
  const first = await openRegistry(path, { clock: () => Date.parse('2031-05-01T10:00:00Z') });
  const alice = await first.addTerminal({ name: 'alice-phone', mail: 'alice@example.org', certFingerprint: fingerprint('alice') });
  await first.addMarket({ name: 'sandbox', url: 'https://localhost:8443/', anchorPem: await marketAnchorPem() });
  await first.updateSettings({ mqttUrl: 'mqtt://localhost:1883' });

  const second = await openRegistry(path);
  t.deepEqual(second.getTerminal(alice.id), alice);
  t.regex(alice.id, /^[0-9a-f]{16}$/);
  t.is(alice.status, 'active');
  t.is(alice.created, '2031-05-01T10:00:00.000Z');
  t.is(alice.lastSeen, null);
  t.deepEqual(
    second.listMarkets().map((m) => [m.name, m.host, m.port]),
    [['sandbox', 'localhost', 8443]],
  );
  t.deepEqual(second.getSettings(), { mqttUrl: 'mqtt://localhost:1883' });
});

test('A missing registry file opens as an empty registry and is written with mode 0600', async (t) => {
  const path = await tempRegistryPath(t);
  const registry = await openRegistry(path);
  t.deepEqual(registry.listTerminals(), []);
  t.deepEqual(registry.listMarkets(), []);
  await registry.addTerminal({ name: 'laptop', mail: 'bob@example.org', certFingerprint: fingerprint('bob') });
  t.is((await stat(path)).mode & 0o777, 0o600);
});

test('A revoked terminal is still found by its fingerprint, with status revoked', async (t) => {
  const path = await tempRegistryPath(t);
  const registry = await openRegistry(path);
  const fp = fingerprint('carol');
  const carol = await registry.addTerminal({ name: 'carol', mail: 'carol@example.org', certFingerprint: fp });
  await registry.revokeTerminal(carol.id);
  t.is(registry.findTerminalByFingerprint(fp)?.status, 'revoked');
  // openssl's colon notation finds the same terminal
  const colons = fp.toUpperCase().match(/../g)!.join(':');
  t.is(registry.findTerminalByFingerprint(colons)?.id, carol.id);
  t.is((await openRegistry(path)).findTerminalByFingerprint(fp)?.status, 'revoked');
  t.is(registry.findTerminalByFingerprint(fingerprint('nobody')), undefined);
});

test('An enrolled certificate or an active terminal name cannot be registered twice', async (t) => {
  const registry = await openRegistry(await tempRegistryPath(t));
  const first = await registry.addTerminal({ name: 'tablet', mail: 'a@example.org', certFingerprint: fingerprint('1') });
  const sameCert = await t.throwsAsync(registry.addTerminal({ name: 'other', mail: 'a@example.org', certFingerprint: fingerprint('1') }));
  t.true(isRegistryError(sameCert, 'duplicate'));
  const sameName = await t.throwsAsync(registry.addTerminal({ name: 'tablet', mail: 'a@example.org', certFingerprint: fingerprint('2') }));
  t.true(isRegistryError(sameName, 'duplicate'));
  await registry.revokeTerminal(first.id);
  // re-enrolling a device under its old name is fine once the old entry is revoked
  await t.notThrowsAsync(registry.addTerminal({ name: 'tablet', mail: 'a@example.org', certFingerprint: fingerprint('2') }));
});

test('A second market with the same name is refused and the first one is kept', async (t) => {
  const path = await tempRegistryPath(t);
  const registry = await openRegistry(path);
  const anchorPem = await marketAnchorPem();
  await registry.addMarket({ name: 'shop', url: 'https://shop.example/', anchorPem });
  const err = await t.throwsAsync(registry.addMarket({ name: 'shop', url: 'https://evil.example/', anchorPem }));
  t.true(isRegistryError(err, 'duplicate'));
  t.is(registry.getMarket('shop')?.host, 'shop.example');
  t.is((await openRegistry(path)).getMarket('shop')?.url, 'https://shop.example/');
});

test('Markets need a valid name, an https URL without credentials and a PEM certificate as anchor', async (t) => {
  const registry = await openRegistry(await tempRegistryPath(t));
  const anchorPem = await marketAnchorPem();
  for (const bad of [
    { name: 'Shop', url: 'https://shop.example/', anchorPem },
    { name: 'x'.repeat(33), url: 'https://shop.example/', anchorPem },
    { name: 'shop', url: 'http://shop.example/', anchorPem },
    { name: 'shop', url: 'https://user:pw@shop.example/', anchorPem },
    { name: 'shop', url: 'not a url', anchorPem },
    { name: 'shop', url: 'https://shop.example/', anchorPem: 'not a certificate' },
  ]) {
    t.true(isRegistryError(await t.throwsAsync(registry.addMarket(bad)), 'invalid'), bad.name + ' ' + bad.url);
  }
  const v6 = await registry.addMarket({ name: 'v6', url: 'https://[::1]:9443/pay', anchorPem });
  t.deepEqual([v6.host, v6.port], ['::1', 9443]);
  t.is((await registry.addMarket({ name: 'default-port', url: 'https://shop.example', anchorPem })).port, 443);
});

test('Removing a market forgets it; removing an unknown one is not-found', async (t) => {
  const path = await tempRegistryPath(t);
  const registry = await openRegistry(path);
  await registry.addMarket({ name: 'shop', url: 'https://shop.example/', anchorPem: await marketAnchorPem() });
  await registry.removeMarket('shop');
  t.is(registry.getMarket('shop'), undefined);
  t.deepEqual((await openRegistry(path)).listMarkets(), []);
  t.true(isRegistryError(await t.throwsAsync(registry.removeMarket('shop')), 'not-found'));
  t.true(isRegistryError(await t.throwsAsync(registry.revokeTerminal('0123456789abcdef')), 'not-found'));
});

test('lastSeen moves at most once a minute per terminal and is written to the file at most once an hour, however many requests arrive', async (t) => {
  const path = await tempRegistryPath(t);
  let now = Date.parse('2031-05-01T10:00:00Z');
  let writes = 0;
  const countingRename = async (from: string, to: string) => {
    writes++;
    await rename(from, to);
  };
  const registry = await openRegistry(path, { clock: () => now, rename: countingRename });
  const a = await registry.addTerminal({ name: 'a', mail: 'a@example.org', certFingerprint: fingerprint('a') });
  const b = await registry.addTerminal({ name: 'b', mail: 'b@example.org', certFingerprint: fingerprint('b') });
  writes = 0;

  const burst = await Promise.all([registry.touchTerminal(a.id), registry.touchTerminal(a.id), registry.touchTerminal(a.id)]);
  t.is(burst.filter(Boolean).length, 1);
  t.is(writes, 1);
  now += TOUCH_INTERVAL_MS - 1;
  t.false(await registry.touchTerminal(a.id));
  t.is(writes, 1);
  t.true(await registry.touchTerminal(b.id), 'another terminal has its own minute');
  t.is(writes, 2);
  const firstSeen = new Date(now - TOUCH_INTERVAL_MS + 1).toISOString();
  now += 1;
  t.true(await registry.touchTerminal(a.id), 'a minute later lastSeen moves');
  t.is(writes, 2, '... in memory: the file holds a lastSeen less than an hour old');
  t.is(registry.getTerminal(a.id)?.lastSeen, new Date(now).toISOString());
  const onDisk = async () => (JSON.parse(await readFile(path, 'utf8')) as { terminals: Array<{ id: string; lastSeen: string }> }).terminals;
  t.is((await onDisk()).find((x) => x.id === a.id)?.lastSeen, firstSeen);
  now += TOUCH_PERSIST_MS;
  t.true(await registry.touchTerminal(a.id));
  t.is(writes, 3, 'an hour after the written one, the file is written');
  t.is((await onDisk()).find((x) => x.id === a.id)?.lastSeen, new Date(now).toISOString());
  now += TOUCH_INTERVAL_MS;
  t.true(await registry.touchTerminal(a.id));
  await registry.setTerminalRole(b.id, 'owner');
  t.is(
    (await onDisk()).find((x) => x.id === a.id)?.lastSeen,
    new Date(now).toISOString(),
    "a lastSeen kept in memory reaches the file with the registry's next write",
  );
});

test('Invalid terminal names, mail addresses and fingerprints are refused before anything is written', async (t) => {
  const registry = await openRegistry(await tempRegistryPath(t));
  const ok = { name: 'phone', mail: 'a@example.org', certFingerprint: fingerprint('x') };
  for (const bad of [
    { ...ok, name: '../etc' },
    { ...ok, name: 'CN=x,O=y' },
    { ...ok, mail: 'nobody' },
    { ...ok, certFingerprint: 'abcd' },
  ]) {
    t.true(isRegistryError(await t.throwsAsync(registry.addTerminal(bad)), 'invalid'));
  }
  t.deepEqual(registry.listTerminals(), []);
});

test('A registry used before open() says so instead of acting on empty data', async (t) => {
  const registry = new Registry({ path: await tempRegistryPath(t), logger: silentLogger });
  t.true(
    isRegistryError(
      t.throws(() => registry.listTerminals()),
      'not-open',
    ),
  );
  t.true(isRegistryError(await t.throwsAsync(registry.revokeTerminal('0123456789abcdef')), 'not-open'));
});

test('Records handed out are copies: changing one does not change the registry', async (t) => {
  const registry = await openRegistry(await tempRegistryPath(t));
  const a = await registry.addTerminal({ name: 'a', mail: 'a@example.org', certFingerprint: fingerprint('a') });
  registry.getTerminal(a.id)!.status = 'revoked';
  registry.listTerminals()[0]!.name = 'mallory';
  t.deepEqual(registry.getTerminal(a.id), a);
});

test('When a registry file that was written is deleted, open refuses with missing and creates nothing in its place', async (t) => {
  const path = await tempRegistryPath(t);
  const first = await openRegistry(path);
  await first.addTerminal({ name: 'dave', mail: 'dave@example.org', certFingerprint: fingerprint('dave') });
  await unlink(path);
  const error = await t.throwsAsync(openRegistry(path));
  t.true(isRegistryError(error, 'missing'));
  t.like((error as unknown as { context: object }).context, { path });
  await t.throwsAsync(stat(path), { code: 'ENOENT' }, 'no empty registry was written');
});
