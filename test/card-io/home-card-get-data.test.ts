/**
 * GET DATA for every tag and the SELECT FCI: bytes as the card sends them,
 * decoded into the typed values the API returns.
 */
import { X509Certificate } from 'node:crypto';
import test from 'ava';
import { parseResponseApdu } from '../../card-io/apdu/index.js';
import { CardErrorCode, isCardError, type CardError } from '../../card-io/errors.js';
import * as hc from '../../card-io/home-card/index.js';
import { CARD_CERTIFICATE_DER, apduHex, hex } from './home-card-fakes.js';

const r = (text: string) => parseResponseApdu(hex(text));
const SPKI = new X509Certificate(CARD_CERTIFICATE_DER).publicKey.export({ type: 'spki', format: 'der' });

test('SELECT parses the FCI into card id, version and life cycle', (t) => {
  const fci = '6F20 840AF0484F4D454741544501 DF01080102030405060708 DF02020100 DF050105';
  t.deepEqual(hc.parseSelect(r(`${fci} 9000`)), {
    cardId: '0102030405060708',
    version: '1.0',
    lifeCycle: 'operational',
  });
});

test('SELECT of another AID answered 6A82 is NotFound', (t) => {
  t.true(
    isCardError(
      t.throws(() => hc.parseSelect(r('6A82'))),
      CardErrorCode.NotFound,
    ),
  );
});

test('SELECT with an FCI that lacks the life cycle is a malformed response, not a guess', (t) => {
  const fci = '6F1C 840AF0484F4D454741544501 DF01080102030405060708 DF02020100';
  t.true(
    isCardError(
      t.throws(() => hc.parseSelect(r(`${fci} 9000`))),
      CardErrorCode.MalformedApdu,
    ),
  );
});

test('GET DATA puts the tag in P1 P2 with a short Le for everything but the certificate', (t) => {
  t.is(apduHex(hc.buildGetData(hc.DataTag.CardId)), '00CADF0100');
  t.is(apduHex(hc.buildGetData(hc.DataTag.Version)), '00CADF0200');
  t.is(apduHex(hc.buildGetData(hc.DataTag.RetryCounters)), '00CADF0300');
  t.is(apduHex(hc.buildGetData(hc.DataTag.PublicKey)), '00CADF0400');
  t.is(apduHex(hc.buildGetData(hc.DataTag.LifeCycle)), '00CADF0500');
  t.is(apduHex(hc.buildGetData(hc.DataTag.TrustAnchors)), '00CADF0600');
});

test('GET DATA of the certificate uses an extended Le, since a certificate exceeds 256 bytes', (t) => {
  t.is(apduHex(hc.buildGetData(hc.DataTag.Certificate)), '00CA7F21000000');
  const der = hc.parseCertificate(parseResponseApdu(Buffer.concat([CARD_CERTIFICATE_DER, hex('9000')])));
  t.true(der.equals(CARD_CERTIFICATE_DER));
  t.is(der.length, 458);
});

test('The card id is 16 lower-case hex digits', (t) => {
  t.is(hc.parseCardId(r('A1B2C3D4E5F60718 9000')), 'a1b2c3d4e5f60718');
  t.true(
    isCardError(
      t.throws(() => hc.parseCardId(r('A1B2 9000'))),
      CardErrorCode.MalformedApdu,
    ),
  );
});

test('The version is "major.minor"', (t) => {
  t.is(hc.parseVersion(r('0100 9000')), '1.0');
  t.is(hc.parseVersion(r('020A 9000')), '2.10');
});

test('The retry counters come as left and max for PIN1, PIN2, PUK and admin', (t) => {
  t.deepEqual(hc.parseRetryCounters(r('0303 0203 090A 0A0A 9000')), {
    pin1: { left: 3, max: 3 },
    pin2: { left: 2, max: 3 },
    puk: { left: 9, max: 10 },
    admin: { left: 10, max: 10 },
  });
});

test('The public key SPKI DER becomes a P-256 KeyObject', (t) => {
  const key = hc.parsePublicKey(parseResponseApdu(Buffer.concat([SPKI, hex('9000')])));
  t.is(key.asymmetricKeyType, 'ec');
  t.is(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  t.true(key.export({ type: 'spki', format: 'der' }).equals(SPKI));
});

test('A public key that is not SPKI DER is a malformed response', (t) => {
  t.true(
    isCardError(
      t.throws(() => hc.parsePublicKey(r('3003020101 9000'))),
      CardErrorCode.MalformedApdu,
    ),
  );
});

test('GENERATE ASYMMETRIC KEY PAIR returns the new public key as a KeyObject', (t) => {
  const key = hc.parseGenerateKeyPair(parseResponseApdu(Buffer.concat([SPKI, hex('9000')])));
  t.true(key.export({ type: 'spki', format: 'der' }).equals(SPKI));
});

test('The life cycle byte 03 is personalization and 05 operational', (t) => {
  t.is(hc.parseLifeCycle(r('03 9000')), 'personalization');
  t.is(hc.parseLifeCycle(r('05 9000')), 'operational');
  t.true(
    isCardError(
      t.throws(() => hc.parseLifeCycle(r('04 9000'))),
      CardErrorCode.MalformedApdu,
    ),
  );
});

test('The trust anchors are a list of SHA-256 fingerprints, empty when there are none', (t) => {
  t.deepEqual(hc.parseTrustAnchors(r(`${'11'.repeat(32)}${'22'.repeat(32)} 9000`)), ['11'.repeat(32), '22'.repeat(32)]);
  t.deepEqual(hc.parseTrustAnchors(r('9000')), []);
  t.true(
    isCardError(
      t.throws(() => hc.parseTrustAnchors(r(`${'11'.repeat(31)} 9000`))),
      CardErrorCode.MalformedApdu,
    ),
  );
});

test('An absent value answered 6A88 is NotFound', (t) => {
  const e = t.throws<CardError>(() => hc.parseCertificate(r('6A88')));
  t.true(isCardError(e, CardErrorCode.NotFound));
  t.like(e?.context, { sw: 0x6a88, command: 'GET DATA' });
});
