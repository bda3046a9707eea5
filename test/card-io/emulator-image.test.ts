import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCardImage, loadCardImage } from '../../card-io/emulator/card-image.js';
import type { CardStore } from '../../card-io/emulator/card-store.js';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { makeIssuer, personalize, TestCard } from './emulator-helpers.js';

async function tempImagePath(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hg-card-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'card', 'image.json');
}

async function personalizedImage(t: { teardown(fn: () => Promise<void>): void }) {
  const path = await tempImagePath(t);
  const { image, adminKey } = await createCardImage(path);
  const card = new TestCard(image);
  const p = await personalize(card, adminKey, await makeIssuer(), []);
  await card.select();
  return { path, image, adminKey, card, ...p };
}

test('A new card image is written with mode 0600 and an existing one is never overwritten', async (t) => {
  const path = await tempImagePath(t);
  const adminKey = Buffer.alloc(32, 7);
  const created = await createCardImage(path, { adminKey, cardId: Buffer.from('0102030405060708', 'hex') });
  t.deepEqual(created.adminKey, adminKey);
  t.is((await stat(path)).mode & 0o777, 0o600);
  const before = await readFile(path);
  const err = await t.throwsAsync(createCardImage(path));
  t.true(isCardError(err, CardErrorCode.ImageExists));
  t.deepEqual(await readFile(path), before);
  const loaded = await loadCardImage(path);
  t.deepEqual(loaded.state.cardId, Buffer.from('0102030405060708', 'hex'));
  t.deepEqual(loaded.state.adminKey, adminKey);
});

test('Counters, keys and life cycle survive reloading the image into a new applet', async (t) => {
  const { path, card, pins, publicKey } = await personalizedImage(t);
  t.is((await card.verifyPin(0x81, '0000')).sw, 0x63c2);
  t.is((await card.verifyPin(0x81, '0001')).sw, 0x63c1);
  const reloaded = new TestCard(await loadCardImage(path));
  t.deepEqual(await reloaded.counters(), [1, 3, 3, 3, 10, 10, 10, 10]);
  t.deepEqual((await reloaded.getData(0xdf04)).data, publicKey);
  t.deepEqual((await reloaded.getData(0xdf05)).data, Buffer.from([0x05]));
  t.is((await reloaded.verifyPin(0x81, pins.pin1)).sw, 0x9000);
  t.deepEqual(await new TestCard(await loadCardImage(path)).counters(), [3, 3, 3, 3, 10, 10, 10, 10]);
});

test('Power lost after a PIN try was counted leaves the try counted, even for the right PIN', async (t) => {
  const { path, image, pins } = await personalizedImage(t);
  let commits = 0;
  // The first commit (the decrement) reaches the disk; the power goes before the second (the restore).
  const dying: CardStore = {
    get state() {
      return image.state;
    },
    commit: (next) => (++commits === 1 ? image.commit(next) : Promise.reject(new Error('power lost'))),
  };
  const card = new TestCard(dying);
  t.is((await card.verifyPin(0x81, pins.pin1)).sw, 0x6581);
  const afterPowerUp = new TestCard(await loadCardImage(path));
  t.deepEqual((await afterPowerUp.counters()).slice(0, 2), [2, 3]);
  t.is((await afterPowerUp.verifyPin(0x81)).sw, 0x63c2, 'PIN1 is not verified after power-up');
});

test('A corrupt, truncated or missing image is reported, never used', async (t) => {
  const { path } = await personalizedImage(t);
  const good = await readFile(path);
  const flipped = Buffer.from(good);
  const at = flipped.indexOf('lifeCycle');
  flipped[at + 12] = flipped[at + 12]! ^ 0x01;
  const wrongSum = JSON.parse(good.toString('utf8')) as { sha256: string };
  wrongSum.sha256 = createHash('sha256').update('other').digest('hex');
  const bodyOnly = JSON.parse(good.toString('utf8')) as { body: string; sha256: string };
  const inner = JSON.parse(bodyOnly.body) as { adminTries: { left: number } };
  inner.adminTries.left = 99;
  bodyOnly.body = JSON.stringify(inner);
  bodyOnly.sha256 = createHash('sha256').update(bodyOnly.body).digest('hex');
  for (const bad of [
    flipped,
    good.subarray(0, Math.floor(good.length / 2)),
    Buffer.alloc(0),
    Buffer.from(JSON.stringify(wrongSum)),
    Buffer.from(JSON.stringify(bodyOnly)),
  ]) {
    await writeFile(path, bad);
    const err = await t.throwsAsync(loadCardImage(path));
    t.true(isCardError(err, CardErrorCode.ImageCorrupt), String(err));
  }
  await rm(path);
  t.true(isCardError(await t.throwsAsync(loadCardImage(path)), CardErrorCode.ImageMissing));
});

test('A stale temp file left by an interrupted write is ignored and removed on load', async (t) => {
  const { path, image } = await personalizedImage(t);
  await writeFile(`${path}.tmp`, '{"format":"homegate-card-image","body":"half a wri');
  const loaded = await loadCardImage(path);
  t.deepEqual(loaded.state.cardId, image.state.cardId);
  t.is(loaded.state.lifeCycle, 0x05);
  await t.throwsAsync(stat(`${path}.tmp`), { code: 'ENOENT' });
});

test('Unknown instructions, unknown classes, reads and garbage APDUs leave the image file bytes unchanged', async (t) => {
  const { path, image } = await personalizedImage(t);
  const before = await readFile(path);
  const card = new TestCard(image);
  const junk = [
    '',
    '00',
    '00A4',
    'FFFFFFFF',
    '0001000000',
    'B0A4040000',
    '8050000000',
    '00A4040005F048',
    '00CADF0300',
    '00CADF0400',
    '002A9E9A20' + '00'.repeat(32),
    '00DADF1108' + '31323334FFFFFFFF',
    '80FE000000',
  ];
  for (const hex of junk) await card.raw(Buffer.from(hex, 'hex'));
  for (let i = 0; i < 50; i++)
    await card.raw(
      Buffer.from(
        createHash('sha256')
          .update(String(i))
          .digest()
          .subarray(0, i % 32),
      ),
    );
  t.deepEqual(await readFile(path), before);
});

test('Commits from overlapping commands reach the disk in order', async (t) => {
  const { path, card } = await personalizedImage(t);
  await Promise.all(['0000', '0001'].map((pin) => card.verifyPin(0x81, pin)));
  t.deepEqual((await new TestCard(await loadCardImage(path)).counters()).slice(0, 2), [1, 3]);
});
