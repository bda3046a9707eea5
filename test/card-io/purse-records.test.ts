/**
 * The purse's encodings with real bytes: signed records as the card makes
 * them and receivers verify them, the authorizations markets and the issuer
 * sign, the PAY APDU, the purse status words, and the purse in the image.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import test from 'ava';
import { SW } from '../../card-io/apdu/status-words.js';
import { encodeSignedRecord, signRecord } from '../../card-io/emulator/purse-records.js';
import { RecordStatus } from '../../card-io/emulator/purse-state.js';
import { decodeImage, encodeImage } from '../../card-io/emulator/image-codec.js';
import { factoryFreshState } from '../../card-io/emulator/card-state.js';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import {
  buildPay,
  encodeCancelAuthorization,
  encodeLoadAuthorization,
  parseCancelAuthorization,
  parseLoadAuthorization,
  parseSignedRecord,
  statusError,
  verifySignedRecord,
} from '../../card-io/home-card/index.js';
import { apduHex, hex } from './home-card-fakes.js';

const CARD_ID = hex('0102030405060708');
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const KEY_PAIR = {
  privateKeyPkcs8: privateKey.export({ type: 'pkcs8', format: 'der' }),
  publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
};
const RECORD = { seq: 7, market: 'shop.example', orderId: 'A-1', amount: 1234n, currency: 'EUR', time: 1_800_000_000, status: RecordStatus.Paid };

test('A record signed by the card parses to its fields and verifies with the card key', (t) => {
  const bytes = encodeSignedRecord(CARD_ID, signRecord(KEY_PAIR, CARD_ID, RECORD));
  const r = parseSignedRecord(bytes);
  t.like(r, { seq: 7, cardId: '0102030405060708', market: 'shop.example', orderId: 'A-1', amount: 1234, currency: 'EUR', status: 'paid' });
  t.is(r.time.getTime(), 1_800_000_000_000);
  t.deepEqual(r.bytes, bytes);
  t.is(
    r.recordBytes.toString('hex').toUpperCase(),
    'DF500400000007' +
      'DF57080102030405060708' +
      'DF510C73686F702E6578616D706C65' +
      'DF5203412D31' +
      'DF530800000000000004D2' +
      'DF5403455552' +
      'DF5508000000006B49D200' +
      'DF560101',
  );
  t.true(verifySignedRecord(r, publicKey));
  t.true(verifySignedRecord(r, KEY_PAIR.publicKeySpki), 'the key may be given as SPKI DER');
});

test('A record with one byte changed, an edited field or another key does not verify', (t) => {
  const bytes = encodeSignedRecord(CARD_ID, signRecord(KEY_PAIR, CARD_ID, RECORD));
  const tampered = Buffer.from(bytes);
  tampered[tampered.indexOf(Buffer.from('A-1')) + 2] = 0x32; // order id "A-2"
  t.false(verifySignedRecord(parseSignedRecord(tampered), publicKey));
  t.false(verifySignedRecord({ ...parseSignedRecord(bytes), amount: 1 }, publicKey));
  t.false(verifySignedRecord({ ...parseSignedRecord(bytes), status: 'cancelled' }, publicKey));
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  t.false(verifySignedRecord(parseSignedRecord(bytes), other));
});

test('Bytes that are not a signed record are MalformedApdu, never a half-parsed record', (t) => {
  const bytes = encodeSignedRecord(CARD_ID, signRecord(KEY_PAIR, CARD_ID, RECORD));
  for (const bad of [Buffer.alloc(0), bytes.subarray(0, bytes.length - 1), Buffer.concat([bytes, hex('00')]), hex('E100 DF5E00')]) {
    t.true(
      isCardError(
        t.throws(() => parseSignedRecord(bad)),
        CardErrorCode.MalformedApdu,
      ),
    );
  }
});

test('Cancel and load authorizations encode in the order the card reads them and parse back', (t) => {
  const cancel = encodeCancelAuthorization({ cardId: '0102030405060708', seq: 7, orderId: 'A-1', amount: 1234, currency: 'EUR' });
  t.is(cancel.toString('hex').toUpperCase(), 'DF57080102030405060708' + 'DF500400000007' + 'DF5203412D31' + 'DF530800000000000004D2' + 'DF5403455552');
  t.deepEqual(parseCancelAuthorization(cancel), { cardId: '0102030405060708', seq: 7, orderId: 'A-1', amount: 1234, currency: 'EUR' });
  const challenge = Buffer.alloc(16, 0xab);
  const load = encodeLoadAuthorization({ cardId: CARD_ID, amount: 2n ** 60n, currency: 'EUR', challenge });
  t.is(load.toString('hex').toUpperCase(), 'DF57080102030405060708' + 'DF53081000000000000000' + 'DF5403455552' + 'DF7110' + 'AB'.repeat(16));
  t.deepEqual(parseLoadAuthorization(load), { cardId: '0102030405060708', amount: 2n ** 60n, currency: 'EUR', challenge });
});

test('Authorization builders refuse bad fields before anything is signed', (t) => {
  const ok = { cardId: '0102030405060708', amount: 1, currency: 'EUR', challenge: Buffer.alloc(16) };
  for (const bad of [{ challenge: Buffer.alloc(15) }, { amount: 0 }, { amount: 1.5 }, { amount: 2n ** 64n }, { currency: 'EURO' }, { cardId: '0102' }]) {
    t.true(
      isCardError(
        t.throws(() => encodeLoadAuthorization({ ...ok, ...bad })),
        CardErrorCode.InvalidArgument,
      ),
      JSON.stringify(Object.keys(bad)),
    );
  }
  const cancel = { cardId: CARD_ID, seq: 1, orderId: 'x', amount: 1, currency: 'EUR' };
  t.throws(() => encodeCancelAuthorization({ ...cancel, orderId: '' }));
  t.throws(() => encodeCancelAuthorization({ ...cancel, orderId: 'x'.repeat(65) }));
  t.throws(() => encodeCancelAuthorization({ ...cancel, seq: -1 }));
});

test('PAY is 80 50 00 00 with order id, amount, currency, time and agreed amount, and an extended Le', (t) => {
  const apdu = buildPay({ orderId: 'A-1', amount: 1234, agreedAmount: 1234, currency: 'EUR', time: new Date(1_800_000_000_500) });
  t.is(
    apduHex(apdu),
    '8050000000002D' + 'DF5203412D31' + 'DF530800000000000004D2' + 'DF5403455552' + 'DF5508000000006B49D200' + 'DF580800000000000004D2' + '0000',
  );
});

test('The purse status words map to typed errors: 6910 InsufficientFunds, 6911 LimitExceeded, 6A83 NotFound', (t) => {
  const error = (sw: number) => statusError({ sw, data: Buffer.alloc(0) }, { command: 'PAY' });
  t.is(error(SW.INSUFFICIENT_FUNDS).code, CardErrorCode.InsufficientFunds);
  t.is(error(0x6911).code, CardErrorCode.LimitExceeded);
  t.is(error(0x6a83).code, CardErrorCode.NotFound);
  t.is(error(0x6910).message, 'PAY failed: insufficient funds (SW 6910) (HG-413)');
});

test('A purse in the image round-trips, and an out-of-range amount makes the image corrupt', (t) => {
  const fresh = factoryFreshState(CARD_ID, Buffer.alloc(32, 1));
  const record = signRecord(KEY_PAIR, CARD_ID, RECORD);
  const state = { ...fresh, purse: { ...fresh.purse, currency: 'EUR', balance: 2n ** 64n - 1n, counter: 7, log: [record] } };
  t.deepEqual(decodeImage(encodeImage(state)), state);

  const outer = JSON.parse(encodeImage(state).toString('utf8')) as { body: string };
  const body = outer.body.replace('"18446744073709551615"', '"18446744073709551616"');
  const sha256 = createHash('sha256').update(body, 'utf8').digest('hex');
  const file = Buffer.from(JSON.stringify({ ...outer, body, sha256 }));
  t.true(
    isCardError(
      t.throws(() => decodeImage(file)),
      CardErrorCode.ImageCorrupt,
    ),
  );
});
