import test from 'ava';
import { createHash, createPrivateKey, createPublicKey, randomBytes, verify } from 'node:crypto';
import { createMemoryCardStore } from '../../card-io/emulator/card-store.js';
import { factoryFreshState } from '../../card-io/emulator/card-state.js';
import { parseTlvs, findTlv } from '../../card-io/apdu/tlv.js';
import { sha256Fingerprint } from '../../provisioning/pki/index.js';
import { AID, makeIssuer, personalize, pinBlock, TestCard } from './emulator-helpers.js';
import { makeMarketPki } from './emulator-pki-fixtures.js';

async function freshCard() {
  const adminKey = randomBytes(32);
  const cardId = randomBytes(8);
  const store = createMemoryCardStore(factoryFreshState(cardId, adminKey));
  return { card: new TestCard(store), store, adminKey, cardId };
}

/**
 * The issuer and market PKI are read-only fixtures: built once per file, not
 * once per test, so twenty tests do not start ~100 WebCrypto operations at once.
 */
let sharedPki: Promise<{ issuer: Awaited<ReturnType<typeof makeIssuer>>; market: Awaited<ReturnType<typeof makeMarketPki>> }> | undefined;
function pki() {
  sharedPki ??= (async () => ({ issuer: await makeIssuer(), market: await makeMarketPki() }))();
  return sharedPki;
}

async function operationalCard() {
  const fresh = await freshCard();
  const { issuer, market } = await pki();
  const p = await personalize(fresh.card, fresh.adminKey, issuer, [market.root.certificate]);
  await fresh.card.select();
  return { ...fresh, ...p, issuer, market };
}

const digestOf = (text: string) => createHash('sha256').update(text).digest();

test('A factory-fresh card is personalized end to end and becomes operational', async (t) => {
  const { card, cardId, publicKey, cardCertificate, market } = await operationalCard();
  const fci = await card.select();
  t.is(fci.sw, 0x9000);
  const [template] = parseTlvs(fci.data);
  t.is(template!.tag, 0x6f);
  const items = parseTlvs(template!.value);
  t.deepEqual(findTlv(items, 0x84), AID);
  t.deepEqual(findTlv(items, 0xdf01), cardId);
  t.deepEqual(findTlv(items, 0xdf02), Buffer.from([1, 0]));
  t.deepEqual(findTlv(items, 0xdf05), Buffer.from([0x05]));
  t.deepEqual((await card.getData(0xdf04)).data, publicKey);
  t.deepEqual((await card.getData(0x7f21)).data, cardCertificate);
  t.deepEqual((await card.getData(0xdf06)).data, sha256Fingerprint(market.root.certificate));
  t.deepEqual(await card.counters(), [3, 3, 3, 3, 10, 10, 10, 10]);
  t.is((await card.getData(0xdf99)).sw, 0x6a88);
});

test('Three wrong PIN1 entries answer 63C2, 63C1, 63C0 and then even the right PIN1 gets 6983', async (t) => {
  const { card, pins } = await operationalCard();
  t.is((await card.verifyPin(0x81, '0000')).sw, 0x63c2);
  t.is((await card.verifyPin(0x81, '0001')).sw, 0x63c1);
  t.is((await card.verifyPin(0x81, '0002')).sw, 0x63c0);
  t.is((await card.verifyPin(0x81, pins.pin1)).sw, 0x6983);
  t.is((await card.verifyPin(0x81)).sw, 0x6983);
  t.deepEqual((await card.counters()).slice(0, 2), [0, 3]);
});

test('A right PIN1 after a wrong one restores the full counter', async (t) => {
  const { card, pins } = await operationalCard();
  t.is((await card.verifyPin(0x81, '9999')).sw, 0x63c2);
  t.is((await card.verifyPin(0x81, pins.pin1)).sw, 0x9000);
  t.deepEqual((await card.counters()).slice(0, 2), [3, 3]);
});

test('The PUK unblocks a blocked PIN1 with a new PIN and restores both counters', async (t) => {
  const { card, pins } = await operationalCard();
  for (const wrong of ['1111', '2222', '3333']) await card.verifyPin(0x81, wrong);
  t.is((await card.send(0x00, 0x2c, 0x00, 0x81, Buffer.concat([pinBlock('87654321'), pinBlock('4321')]))).sw, 0x63c9);
  t.is((await card.send(0x00, 0x2c, 0x00, 0x81, Buffer.concat([pinBlock(pins.puk), pinBlock('4321')]))).sw, 0x9000);
  t.deepEqual(await card.counters(), [3, 3, 3, 3, 10, 10, 10, 10]);
  t.is((await card.verifyPin(0x81, pins.pin1)).sw, 0x63c2);
  t.is((await card.verifyPin(0x81, '4321')).sw, 0x9000);
});

test('A blocked PUK answers 6983 and only a factory reset brings the card back to personalization', async (t) => {
  const { card, pins, adminKey } = await operationalCard();
  const rrc = (puk: string) => card.send(0x00, 0x2c, 0x00, 0x81, Buffer.concat([pinBlock(puk), pinBlock('4321')]));
  for (let left = 9; left >= 0; left--) t.is((await rrc('00000000')).sw, 0x63c0 | left);
  t.is((await rrc(pins.puk)).sw, 0x6983);
  t.is((await card.send(0x80, 0xfe, 0x00, 0x00)).sw, 0x6982);
  t.is((await card.adminAuth(adminKey)).sw, 0x9000);
  t.is((await card.send(0x80, 0xfe, 0x00, 0x00)).sw, 0x9000);
  t.deepEqual((await card.getData(0xdf05)).data, Buffer.from([0x03]));
  t.is((await card.getData(0xdf04)).sw, 0x6a88);
  t.is((await card.getData(0x7f21)).sw, 0x6a88);
  t.deepEqual((await card.getData(0xdf06)).data, Buffer.alloc(0));
  t.deepEqual(await card.counters(), [3, 3, 3, 3, 10, 10, 10, 10]);
  t.is((await card.verifyPin(0x81, pins.pin1)).sw, 0x6985);
  const again = await personalize(card, adminKey, await makeIssuer(), []);
  t.is(again.publicKey.length > 0, true);
});

test('PIN2 before PIN1 answers 6982 and costs no try', async (t) => {
  const { card, pins } = await operationalCard();
  t.is((await card.verifyPin(0x82, pins.pin2)).sw, 0x6982);
  t.is((await card.verifyPin(0x82, '0000')).sw, 0x6982);
  t.deepEqual((await card.counters()).slice(2, 4), [3, 3]);
  t.is((await card.verifyPin(0x81, pins.pin1)).sw, 0x9000);
  t.is((await card.verifyPin(0x82, pins.pin2)).sw, 0x9000);
});

test('PIN2 releases exactly one security operation', async (t) => {
  const { card, pins } = await operationalCard();
  t.is((await card.send(0x00, 0x2a, 0x9e, 0x9a, digestOf('before'), 256)).sw, 0x6982);
  await card.verifyPin(0x81, pins.pin1);
  await card.verifyPin(0x82, pins.pin2);
  t.is((await card.verifyPin(0x82)).sw, 0x9000);
  t.is((await card.send(0x00, 0x2a, 0x9e, 0x9a, digestOf('one'), 256)).sw, 0x9000);
  t.is((await card.send(0x00, 0x2a, 0x9e, 0x9a, digestOf('two'), 256)).sw, 0x6982);
  t.is((await card.verifyPin(0x82)).sw, 0x63c3);
  t.is((await card.verifyPin(0x81)).sw, 0x9000, 'PIN1 stays verified');
  await card.verifyPin(0x82, pins.pin2);
  t.is((await card.send(0x00, 0x2a, 0x9e, 0x9a, digestOf('three'), 256)).sw, 0x9000);
});

test('The digest signature verifies with the card public key read from GET DATA DF04', async (t) => {
  const { card, pins } = await operationalCard();
  const message = Buffer.from('payment decision #1: 12.50 EUR to shop.example');
  await card.verifyPin(0x81, pins.pin1);
  await card.verifyPin(0x82, pins.pin2);
  const sig = await card.send(0x00, 0x2a, 0x9e, 0x9a, createHash('sha256').update(message).digest(), 256);
  t.is(sig.sw, 0x9000);
  const publicKey = createPublicKey({ key: (await card.getData(0xdf04)).data, format: 'der', type: 'spki' });
  t.true(verify('sha256', message, publicKey, sig.data));
  t.false(verify('sha256', Buffer.from('another message'), publicKey, sig.data));
});

test('A digest of the wrong length answers 6700 and keeps the release', async (t) => {
  const { card, pins } = await operationalCard();
  await card.verifyPin(0x81, pins.pin1);
  await card.verifyPin(0x82, pins.pin2);
  t.is((await card.send(0x00, 0x2a, 0x9e, 0x9a, Buffer.alloc(31), 256)).sw, 0x6700);
  t.is((await card.send(0x00, 0x2a, 0x9e, 0x9a, Buffer.alloc(32), 256)).sw, 0x9000);
});

test('VERIFY without data reports the state, and P1 FF withdraws PIN1 together with the release', async (t) => {
  const { card, pins } = await operationalCard();
  t.is((await card.verifyPin(0x81)).sw, 0x63c3);
  await card.verifyPin(0x81, pins.pin1);
  await card.verifyPin(0x82, pins.pin2);
  t.is((await card.verifyPin(0x81)).sw, 0x9000);
  t.is((await card.send(0x00, 0x20, 0xff, 0x81)).sw, 0x9000);
  t.is((await card.verifyPin(0x81)).sw, 0x63c3);
  t.is((await card.verifyPin(0x82)).sw, 0x63c3);
  t.is((await card.send(0x00, 0x2a, 0x9e, 0x9a, Buffer.alloc(32), 256)).sw, 0x6982);
});

test('SELECT and a power cycle each start a new card session', async (t) => {
  const { card, pins } = await operationalCard();
  await card.verifyPin(0x81, pins.pin1);
  await card.select();
  t.is((await card.verifyPin(0x81)).sw, 0x63c3);
  await card.verifyPin(0x81, pins.pin1);
  card.applet.powerCycle();
  t.is((await card.verifyPin(0x81)).sw, 0x63c3);
  t.is((await card.send(0x00, 0xa4, 0x04, 0x00, Buffer.from('A000000003', 'hex'))).sw, 0x6a82);
});

test('Malformed PIN blocks answer 6A80 and never cost a try', async (t) => {
  const { card } = await operationalCard();
  const bad = [
    Buffer.from('123FFFFF', 'ascii'),
    Buffer.from([0x31, 0x32, 0x33, 0xff, 0xff, 0xff, 0xff, 0xff]),
    Buffer.from([0x31, 0x32, 0x33, 0x34, 0xff, 0x35, 0xff, 0xff]),
    Buffer.from('1234', 'ascii'),
    Buffer.alloc(9, 0x31),
  ];
  for (const block of bad) t.is((await card.send(0x00, 0x20, 0x00, 0x81, block)).sw, 0x6a80);
  t.is((await card.send(0x00, 0x2c, 0x00, 0x81, Buffer.concat([pinBlock('1234'), pinBlock('4321')]))).sw, 0x6a80, 'a 4-digit PUK');
  t.deepEqual(await card.counters(), [3, 3, 3, 3, 10, 10, 10, 10]);
});

test('CHANGE REFERENCE DATA checks the old PIN with a counted try, and PIN2 needs PIN1 first', async (t) => {
  const { card, pins } = await operationalCard();
  const change = (p2: number, oldPin: string, newPin: string) => card.send(0x00, 0x24, 0x00, p2, Buffer.concat([pinBlock(oldPin), pinBlock(newPin)]));
  t.is((await change(0x81, '0000', '2468')).sw, 0x63c2);
  t.is((await change(0x81, pins.pin1, '2468')).sw, 0x9000);
  t.is((await card.verifyPin(0x81, '2468')).sw, 0x9000);
  t.is((await change(0x82, pins.pin2, '13579')).sw, 0x9000);
  t.is((await card.send(0x00, 0x20, 0xff, 0x81)).sw, 0x9000);
  t.is((await change(0x82, '13579', '11111')).sw, 0x6982);
  t.deepEqual((await card.counters()).slice(0, 4), [3, 3, 3, 3]);
});

test('A wrong admin cryptogram counts admin tries and a challenge is used only once', async (t) => {
  const { card, adminKey } = await freshCard();
  t.is((await card.send(0x00, 0x82, 0x00, 0x01, randomBytes(48))).sw, 0x6985, 'no challenge');
  const wrong = await card.adminAuth(randomBytes(32));
  t.is(wrong.sw, 0x63c9);
  t.deepEqual((await card.counters()).slice(6), [9, 10]);
  t.is((await card.send(0x00, 0x82, 0x00, 0x01, randomBytes(48))).sw, 0x6985, 'the challenge was used');
  t.is((await card.send(0x00, 0x47, 0x80, 0x00, undefined, 256)).sw, 0x6982);
  const right = await card.adminAuth(adminKey);
  t.is(right.sw, 0x9000);
  t.true(right.cardOk, 'the card proves it holds the key');
  t.deepEqual((await card.counters()).slice(6), [10, 10]);
  t.is((await card.send(0x00, 0x84, 0x00, 0x00, undefined, 256)).sw, 0x6700, 'GET CHALLENGE wants Le 16');
});

test('Ten wrong admin cryptograms block admin authentication even with the right key', async (t) => {
  const { card, adminKey } = await freshCard();
  for (let left = 9; left >= 0; left--) t.is((await card.adminAuth(randomBytes(32))).sw, 0x63c0 | left);
  t.is((await card.adminAuth(adminKey)).sw, 0x6983);
});

test('Admin commands answer 6982 without admin authentication', async (t) => {
  const { card } = await freshCard();
  t.is((await card.send(0x00, 0x47, 0x80, 0x00, undefined, 256)).sw, 0x6982);
  t.is((await card.putData(0xdf11, pinBlock('1234'))).sw, 0x6982);
  t.is((await card.send(0x00, 0x44, 0x00, 0x00)).sw, 0x6982);
  t.is((await card.send(0x80, 0xfe, 0x00, 0x00)).sw, 0x6982);
});

test('ACTIVATE needs key, certificate and all PINs, and PIN commands wait for the operational state', async (t) => {
  const { card, adminKey } = await freshCard();
  await card.adminAuth(adminKey);
  t.is((await card.send(0x00, 0x44, 0x00, 0x00)).sw, 0x6985);
  t.is((await card.putData(0x7f21, Buffer.from('3000', 'hex'))).sw, 0x6985, 'no key yet');
  t.is((await card.putData(0xdf13, pinBlock('1234'))).sw, 0x6a80, 'the PUK has 8 digits');
  t.is((await card.verifyPin(0x81, '1234')).sw, 0x6985);
  t.is((await card.send(0x00, 0x2a, 0x9e, 0x9a, Buffer.alloc(32), 256)).sw, 0x6985);
});

test('In the operational state key and PIN personalization answers 6985 but trust anchors can still be managed', async (t) => {
  const { card, adminKey, issuer, market } = await operationalCard();
  await card.adminAuth(adminKey);
  t.is((await card.send(0x00, 0x47, 0x80, 0x00, undefined, 256)).sw, 0x6985);
  t.is((await card.putData(0xdf11, pinBlock('1234'))).sw, 0x6985);
  t.is((await card.putData(0x7f21, issuer.certificate)).sw, 0x6985);
  t.is((await card.putData(0xdf20, issuer.certificate)).sw, 0x9000);
  t.is((await card.putData(0xdf20, issuer.certificate)).sw, 0x9000, 'already there');
  t.is((await card.getData(0xdf06)).data.length, 64);
  t.is((await card.putData(0xdf20, market.leaf)).sw, 0x6a80, 'not a CA');
  t.is((await card.putData(0xdf21, sha256Fingerprint(market.leaf))).sw, 0x6a88);
  t.is((await card.putData(0xdf21, sha256Fingerprint(issuer.certificate))).sw, 0x9000);
  t.deepEqual((await card.getData(0xdf06)).data, sha256Fingerprint(market.root.certificate));
});

test('A ninth trust anchor answers 6A84', async (t) => {
  const { card, adminKey } = await freshCard();
  await card.adminAuth(adminKey);
  for (let i = 0; i < 8; i++) t.is((await card.putData(0xdf20, (await makeIssuer(`CN=Anchor ${i}`)).certificate)).sw, 0x9000);
  t.is((await card.putData(0xdf20, (await makeIssuer('CN=Anchor 8')).certificate)).sw, 0x6a84);
  t.is((await card.getData(0xdf06)).data.length, 8 * 32);
});

test('PUT DATA of a card certificate for another key answers 6A80', async (t) => {
  const { card, adminKey } = await freshCard();
  await card.adminAuth(adminKey);
  t.is((await card.send(0x00, 0x47, 0x80, 0x00, undefined, 256)).sw, 0x9000);
  const issuer = await makeIssuer();
  t.is((await card.putData(0x7f21, issuer.certificate)).sw, 0x6a80);
  t.is((await card.putData(0x7f21, randomBytes(40))).sw, 0x6a80);
});

test('Unknown class, unknown instruction, bad P1-P2 and malformed APDUs get their status words', async (t) => {
  const { card } = await operationalCard();
  const sw = async (bytes: Buffer) => {
    const r = await card.raw(bytes);
    return r.readUInt16BE(r.length - 2);
  };
  t.is(await sw(Buffer.from('B0A4040000', 'hex')), 0x6e00);
  t.is(await sw(Buffer.from('0001000000', 'hex')), 0x6d00);
  t.is(await sw(Buffer.from('805A000000', 'hex')), 0x6d00, 'an unassigned proprietary instruction');
  t.is(await sw(Buffer.from('00A4040100', 'hex')), 0x6a86);
  t.is(await sw(Buffer.from('002A9E9B00', 'hex')), 0x6a86);
  t.is(await sw(Buffer.from('00A4', 'hex')), 0x6700);
  t.is(await sw(Buffer.alloc(0)), 0x6700);
  t.is(await sw(Buffer.from('00A4040005F048', 'hex')), 0x6700, 'Lc longer than the data');
  t.is(await sw(Buffer.from('00CADF0100FF', 'hex')), 0x6700, 'data on GET DATA');
});

test('A failed image write answers 6581 and leaves the counter and the session unchanged', async (t) => {
  const { card, store, pins } = await operationalCard();
  store.failCommits = true;
  t.is((await card.verifyPin(0x81, pins.pin1)).sw, 0x6581);
  t.is((await card.verifyPin(0x81, '0000')).sw, 0x6581);
  store.failCommits = false;
  t.deepEqual((await card.counters()).slice(0, 2), [3, 3]);
  t.is((await card.verifyPin(0x81)).sw, 0x63c3, 'PIN1 was not verified');
});

test('No response of a full run contains the card private key', async (t) => {
  const { card, store, pins, market } = await operationalCard();
  await card.verifyPin(0x81, pins.pin1);
  await card.verifyPin(0x82, pins.pin2);
  await card.send(0x00, 0x2a, 0x9e, 0x9a, digestOf('x'), 256);
  await card.verifyPin(0x82, pins.pin2);
  const nowBytes = Buffer.alloc(8);
  nowBytes.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)));
  t.is((await card.send(0x00, 0x2a, 0x00, 0xbe, Buffer.concat([nowBytes, market.leaf, market.intermediate.certificate]))).sw, 0x9000);
  for (const tag of [0xdf01, 0xdf02, 0xdf03, 0xdf04, 0xdf05, 0xdf06, 0x7f21]) t.is((await card.getData(tag)).sw, 0x9000);

  const pkcs8 = store.state.keyPair!.privateKeyPkcs8;
  const jwk = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
  const scalar = Buffer.from(jwk.d!, 'base64url');
  t.is(scalar.length, 32);
  t.true(card.responses.length > 20);
  for (const r of card.responses) {
    t.is(r.indexOf(scalar), -1);
    t.is(r.indexOf(pkcs8), -1);
    t.is(r.indexOf(scalar.subarray(0, 16)), -1);
  }
});
