/**
 * Setting up the purse with PUT DATA DF14/DF15/DF16 (admin, personalization
 * only) and the envelope rules of the purse commands, in raw APDUs against
 * the applet.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import test from 'ava';
import { factoryFreshState } from '../../card-io/emulator/card-state.js';
import { createMemoryCardStore } from '../../card-io/emulator/card-store.js';
import { makeIssuer, personalize, TestCard } from './emulator-helpers.js';

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

function parameters(currency: string, max: bigint, perPayment: bigint, daily: bigint): Buffer {
  return Buffer.concat([Buffer.from(currency, 'latin1'), u64(max), u64(perPayment), u64(daily)]);
}

const P256_SPKI = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });

async function freshCard() {
  const adminKey = randomBytes(32);
  const store = createMemoryCardStore(factoryFreshState(randomBytes(8), Buffer.from(adminKey)));
  const card = new TestCard(store);
  await card.select();
  return { card, store, adminKey };
}

test('Purse PUT DATA needs admin authentication (6982)', async (t) => {
  const { card } = await freshCard();
  t.is((await card.putData(0xdf15, parameters('EUR', 100n, 10n, 50n))).sw, 0x6982);
});

test('DF15 sets currency and limits, DF16 the initial balance, DF14 the issuer key; GET DATA DF40 shows them', async (t) => {
  const { card, store, adminKey } = await freshCard();
  await card.adminAuth(adminKey);
  t.is((await card.getData(0xdf40)).sw, 0x6a88, 'no purse yet');
  t.is((await card.putData(0xdf16, u64(5n))).sw, 0x6985, 'the balance needs the parameters first');
  t.is((await card.putData(0xdf15, parameters('EUR', 100n, 10n, 50n))).sw, 0x9000);
  t.is((await card.putData(0xdf16, u64(101n))).sw, 0x6911, 'over the maximum balance');
  t.is((await card.putData(0xdf16, u64(60n))).sw, 0x9000);
  t.is((await card.putData(0xdf14, P256_SPKI)).sw, 0x9000);
  const status = await card.getData(0xdf40);
  t.is(status.sw, 0x9000);
  t.is(
    status.data.toString('hex'),
    u64(60n).toString('hex') + '455552' + '00000000' + [100n, 10n, 50n, 0n, 100n].map((n) => u64(n).toString('hex')).join(''),
    'the per-load limit defaults to the maximum balance',
  );
  t.deepEqual((await card.getData(0xdf42)).data, Buffer.from([0]), 'an empty log');
  t.deepEqual(store.state.purse.issuerKey, P256_SPKI);
});

test('DF15 with a fifth field sets the per-load limit, which GET DATA DF40 reports last', async (t) => {
  const { card, adminKey } = await freshCard();
  await card.adminAuth(adminKey);
  t.is((await card.putData(0xdf15, Buffer.concat([parameters('EUR', 100n, 10n, 50n), u64(30n)]))).sw, 0x9000);
  const status = await card.getData(0xdf40);
  t.is(status.data.length, 55);
  t.is(status.data.subarray(47).toString('hex'), u64(30n).toString('hex'));
  t.is((await card.putData(0xdf15, Buffer.concat([parameters('EUR', 100n, 10n, 50n), u64(30n), Buffer.from([0])]))).sw, 0x6a80, 'neither 27 nor 35 bytes');
});

test('Malformed purse parameters and issuer keys that are not P-256 SPKI are refused (6A80)', async (t) => {
  const { card, adminKey } = await freshCard();
  await card.adminAuth(adminKey);
  t.is((await card.putData(0xdf15, parameters('E1R', 100n, 10n, 50n))).sw, 0x6a80);
  t.is((await card.putData(0xdf15, parameters('EUR', 100n, 10n, 50n).subarray(1))).sw, 0x6a80);
  t.is((await card.putData(0xdf14, randomBytes(91))).sw, 0x6a80);
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'der' });
  t.is((await card.putData(0xdf14, p384)).sw, 0x6a80);
});

test('After ACTIVATE the purse can no longer be set up (6985)', async (t) => {
  const { card, adminKey } = await freshCard();
  await personalize(card, adminKey, await makeIssuer(), []);
  await card.select();
  await card.adminAuth(adminKey);
  t.is((await card.putData(0xdf15, parameters('EUR', 100n, 10n, 50n))).sw, 0x6985);
  t.is((await card.putData(0xdf14, P256_SPKI)).sw, 0x6985);
});

test('Purse command envelopes: wrong P1-P2 6A86, GET LOAD CHALLENGE with Le other than 16 6700', async (t) => {
  const { card, adminKey } = await freshCard();
  await card.adminAuth(adminKey);
  await card.putData(0xdf15, parameters('EUR', 100n, 10n, 50n));
  await card.putData(0xdf14, P256_SPKI);
  const p = await personalize(card, adminKey, await makeIssuer(), []);
  await card.verifyPin(0x81, p.pins.pin1);
  t.is((await card.send(0x80, 0x50, 0x01, 0x00, undefined, 256)).sw, 0x6a86, 'PAY P1');
  t.is((await card.send(0x00, 0xb2, 0x01, 0x0c, undefined, 256)).sw, 0x6a86, 'READ RECORD P2');
  t.is((await card.send(0x80, 0x54, 0x00, 0x00, undefined, 8)).sw, 0x6700);
  t.is((await card.send(0x80, 0x54, 0x00, 0x00, undefined, 16)).sw, 0x9000);
  t.is((await card.send(0x00, 0xb2, 0x01, 0x04, undefined, 256)).sw, 0x6a83, 'no record yet');
  t.is((await card.send(0x80, 0x56, 0x00, 0x00, Buffer.from('DF7000DF6100', 'hex'), 256)).sw, 0x6a80, 'malformed LOAD');
  t.is((await card.send(0x80, 0x56, 0x00, 0x00, Buffer.from('DF7000DF6100', 'hex'), 256)).sw, 0x6985, 'its challenge is gone');
});
