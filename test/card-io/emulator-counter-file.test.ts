import test from 'ava';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCardImage, loadCardImage, readCardImageState } from '../../card-io/emulator/card-image.js';
import { counterFilePath, decodeSlot, encodeSlot, SLOT_BYTES } from '../../card-io/emulator/counter-file.js';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { makeIssuer, personalize, pinBlock, TestCard } from './emulator-helpers.js';

async function personalizedImage(t: { teardown(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'hg-card-counters-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'card.img');
  const { image, adminKey } = await createCardImage(path);
  const card = new TestCard(image);
  const p = await personalize(card, adminKey, await makeIssuer(), []);
  await card.select();
  return { path, adminKey, card, ...p };
}

/** The newest valid slot's seq and values in the counter file. */
async function slots(path: string) {
  const data = await readFile(counterFilePath(path));
  return [0, 1].map((i) => decodeSlot(data.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES)));
}

test('A counted PIN try and its restore write the 32-byte counter slots, never the image', async (t) => {
  const { path, card, pins } = await personalizedImage(t);
  const image = await readFile(path);
  t.is((await card.verifyPin(0x81, '0000')).sw, 0x63c2);
  t.is((await card.verifyPin(0x82, pins.pin2)).sw, 0x6982, 'PIN2 needs PIN1 first: no try counted, nothing written');
  t.is((await card.verifyPin(0x81, pins.pin1)).sw, 0x9000);
  t.deepEqual(await readFile(path), image, 'the image file is unchanged');
  t.is((await stat(counterFilePath(path))).size, 2 * SLOT_BYTES);
  t.is((await stat(counterFilePath(path))).mode & 0o777, 0o600);
  t.deepEqual((await readCardImageState(path)).pin1?.tries, { left: 3, max: 3 });
  t.is((await card.verifyPin(0x81, '0000')).sw, 0x63c2);
  t.deepEqual(await new TestCard(await loadCardImage(path)).counters(), [2, 3, 3, 3, 10, 10, 10, 10], 'a reloaded card has the counted try');
});

test('When the newest counter slot is torn, the card loads the previous one: the state before the interrupted commit', async (t) => {
  const { path, card } = await personalizedImage(t);
  t.is((await card.verifyPin(0x81, '0000')).sw, 0x63c2); // decrement (slot a), no restore
  t.is((await card.verifyPin(0x81, '0000')).sw, 0x63c1); // decrement (slot b)
  const [a, b] = await slots(path);
  const newest = a!.seq > b!.seq ? 0 : 1;
  const file = await readFile(counterFilePath(path));
  // Power lost mid-write: the slot's second half never reached the disk.
  file.fill(0, newest * SLOT_BYTES + 16, (newest + 1) * SLOT_BYTES);
  await writeFile(counterFilePath(path), file);
  t.deepEqual(await new TestCard(await loadCardImage(path)).counters(), [2, 3, 3, 3, 10, 10, 10, 10]);
});

test('A full image commit after counter commits wins over the older counter slots', async (t) => {
  const { path, card, pins } = await personalizedImage(t);
  t.is((await card.verifyPin(0x81, '0000')).sw, 0x63c2);
  t.is((await card.verifyPin(0x81, pins.pin1)).sw, 0x9000);
  t.is((await card.verifyPin(0x82, '0000')).sw, 0x63c2); // PIN2 2 left, in a slot
  // CHANGE REFERENCE DATA of PIN2 rewrites the image (a new PIN record, full counter).
  const change = Buffer.concat([pinBlock(pins.pin2), pinBlock('24682468')]);
  t.is((await card.send(0x00, 0x24, 0x00, 0x82, change)).sw, 0x9000);
  const state = await readCardImageState(path);
  t.deepEqual(state.pin2?.tries, { left: 3, max: 3 });
  t.deepEqual(await new TestCard(await loadCardImage(path)).counters(), [3, 3, 3, 3, 10, 10, 10, 10]);
});

test('A counter file of another card is ignored, and one with an impossible counter is reported corrupt, never used', async (t) => {
  const { path, card } = await personalizedImage(t);
  t.is((await card.verifyPin(0x81, '0000')).sw, 0x63c2);
  const state = await readCardImageState(path);
  const other = encodeSlot({ seq: 1_000, cardId: Buffer.alloc(8, 0xee), values: { pin1: 0, pin2: 0, puk: 0, admin: 0 } });
  const good = await readFile(counterFilePath(path));
  await writeFile(counterFilePath(path), Buffer.concat([other, other]));
  t.deepEqual((await readCardImageState(path)).pin1?.tries, { left: 3, max: 3 }, "the image's own counters");
  const impossible = encodeSlot({ seq: 1_000, cardId: state.cardId, values: { pin1: 9, pin2: 3, puk: 10, admin: 10 } });
  await writeFile(counterFilePath(path), Buffer.concat([impossible, good.subarray(SLOT_BYTES)]));
  const e = await t.throwsAsync(loadCardImage(path));
  t.true(isCardError(e, CardErrorCode.ImageCorrupt));
});
