/**
 * Each command's build against bytes written out by hand from PROTOCOL.md, and
 * its parse against response bytes as the card sends them.
 */
import test from 'ava';
import { parseResponseApdu } from '../../card-io/apdu/index.js';
import { CardErrorCode, isCardError, type CardError } from '../../card-io/errors.js';
import * as hc from '../../card-io/home-card/index.js';
import { apduHex, hex } from './home-card-fakes.js';

const r = (text: string) => parseResponseApdu(hex(text));
const upper = (b: Buffer) => b.toString('hex').toUpperCase();
const filled = (n: number, byte: number) => Buffer.alloc(n, byte);

test('SELECT is 00 A4 04 00 with the home-card AID and Le 00', (t) => {
  t.is(apduHex(hc.buildSelect()), '00A404000AF0484F4D45474154450100');
});

test('GET CHALLENGE asks for exactly 16 bytes and returns them', (t) => {
  t.is(apduHex(hc.buildGetChallenge()), '0084000010');
  const challenge = hc.parseGetChallenge(r('000102030405060708090A0B0C0D0E0F 9000'));
  t.is(upper(challenge), '000102030405060708090A0B0C0D0E0F');
});

test('GET CHALLENGE with a short answer is a malformed response', (t) => {
  const e = t.throws<CardError>(() => hc.parseGetChallenge(r('0001 9000')));
  t.true(isCardError(e, CardErrorCode.MalformedApdu));
});

test('EXTERNAL AUTHENTICATE sends host challenge then host cryptogram under P2 01', (t) => {
  const apdu = hc.buildExternalAuthenticate(filled(16, 0xaa), filled(32, 0xbb));
  t.is(apduHex(apdu), `0082000130${'AA'.repeat(16)}${'BB'.repeat(32)}00`);
  t.is(upper(hc.parseExternalAuthenticate(r(`${'CC'.repeat(32)} 9000`))), 'CC'.repeat(32));
});

test('EXTERNAL AUTHENTICATE answered 63C9 is a wrong admin key with 9 tries left', (t) => {
  const e = t.throws<CardError>(() => hc.parseExternalAuthenticate(r('63C9')));
  t.true(isCardError(e, CardErrorCode.WrongPin));
  t.like(e?.context, { pin: 'ADMIN', triesLeft: 9, sw: 0x63c9 });
});

test('VERIFY PIN1 sends the PIN block padded with FF under P2 81', (t) => {
  t.is(apduHex(hc.buildVerifyPin('PIN1', '1234')), '002000810831323334FFFFFFFF');
  t.is(apduHex(hc.buildVerifyPin('PIN2', '12345678')), '00200082083132333435363738');
  t.notThrows(() => hc.parseVerifyPin(r('9000'), 'PIN1'));
});

test('VERIFY answered 63C2 is WrongPin for that PIN with 2 tries left', (t) => {
  const e = t.throws<CardError>(() => hc.parseVerifyPin(r('63C2'), 'PIN2'));
  t.true(isCardError(e, CardErrorCode.WrongPin));
  t.is(e?.message, 'Wrong PIN2, 2 tries left (HG-401)');
});

test('VERIFY without data asks the PIN status and never spends a try', (t) => {
  t.is(apduHex(hc.buildPinStatusQuery('PIN1')), '00200081');
  t.deepEqual(hc.parsePinStatusQuery(r('9000'), 'PIN1'), { verified: true, triesLeft: undefined, blocked: false });
  t.deepEqual(hc.parsePinStatusQuery(r('63C3'), 'PIN1'), { verified: false, triesLeft: 3, blocked: false });
  t.deepEqual(hc.parsePinStatusQuery(r('63C0'), 'PIN1'), { verified: false, triesLeft: 0, blocked: true });
  t.deepEqual(hc.parsePinStatusQuery(r('6983'), 'PIN2'), { verified: false, triesLeft: 0, blocked: true });
});

test('A PIN status query in personalization is ConditionsNotSatisfied', (t) => {
  const e = t.throws<CardError>(() => hc.parsePinStatusQuery(r('6985'), 'PIN1'));
  t.true(isCardError(e, CardErrorCode.ConditionsNotSatisfied));
});

test('VERIFY with P1 FF resets the verified state of one PIN', (t) => {
  t.is(apduHex(hc.buildResetPinState('PIN1')), '0020FF81');
  t.is(apduHex(hc.buildResetPinState('PIN2')), '0020FF82');
  t.notThrows(() => hc.parseResetPinState(r('9000'), 'PIN2'));
});

test('CHANGE REFERENCE DATA sends the old then the new PIN block', (t) => {
  const apdu = hc.buildChangeReferenceData('PIN1', '1234', '56789');
  t.is(apduHex(apdu), '002400811031323334FFFFFFFF3536373839FFFFFF');
  t.notThrows(() => hc.parseChangeReferenceData(r('9000'), 'PIN1'));
  const e = t.throws<CardError>(() => hc.parseChangeReferenceData(r('63C1'), 'PIN1'));
  t.is(e?.message, 'Wrong PIN1, 1 try left (HG-401)');
});

test('RESET RETRY COUNTER sends the PUK block then the new PIN block, and a wrong PUK names the PUK', (t) => {
  const apdu = hc.buildResetRetryCounter('PIN2', '12345678', '9999');
  t.is(apduHex(apdu), '002C008210313233343536373839393939FFFFFFFF');
  t.notThrows(() => hc.parseResetRetryCounter(r('9000')));
  const wrong = t.throws<CardError>(() => hc.parseResetRetryCounter(r('63C7')));
  t.like(wrong?.context, { pin: 'PUK', triesLeft: 7 });
  const blocked = t.throws<CardError>(() => hc.parseResetRetryCounter(r('6983')));
  t.true(isCardError(blocked, CardErrorCode.PinBlocked));
  t.is(blocked?.message, 'PUK is blocked (HG-402)');
});

test('GENERATE ASYMMETRIC KEY PAIR is 00 47 80 00 00', (t) => {
  t.is(apduHex(hc.buildGenerateKeyPair()), '0047800000');
  const e = t.throws<CardError>(() => hc.parseGenerateKeyPair(r('6982')));
  t.true(isCardError(e, CardErrorCode.SecurityStatusNotSatisfied));
});

test('PUT DATA of the PINs and PUK uses tags DF11, DF12, DF13', (t) => {
  t.is(apduHex(hc.buildPutPin('PIN1', '1234')), '00DADF110831323334FFFFFFFF');
  t.is(apduHex(hc.buildPutPin('PIN2', '987654')), '00DADF1208393837363534FFFF');
  t.is(apduHex(hc.buildPutPin('PUK', '00001111')), '00DADF13083030303031313131');
  t.notThrows(() => hc.parsePutData(r('9000')));
});

test('PUT DATA of a certificate longer than 255 bytes uses an extended Lc', (t) => {
  const der = Buffer.concat([hex('3082 0128'), filled(296, 0x11)]); // 300 bytes
  t.is(apduHex(hc.buildPutCertificate(der)), `00DA7F2100012C${upper(der)}`);
});

test('PUT DATA adds a trust anchor under DF20 and removes one by fingerprint under DF21', (t) => {
  const der = Buffer.concat([hex('3062'), filled(98, 0x22)]); // 100 bytes, short Lc
  t.is(apduHex(hc.buildAddTrustAnchor(der)), `00DADF2064${upper(der)}`);
  t.is(apduHex(hc.buildRemoveTrustAnchor('ab'.repeat(32))), `00DADF2120${'AB'.repeat(32)}`);
  const e = t.throws<CardError>(() => hc.parsePutData(r('6A84')));
  t.true(isCardError(e, CardErrorCode.NotEnoughMemory));
});

test('Removing a trust anchor needs a 64-hex-digit fingerprint', (t) => {
  const e = t.throws<CardError>(() => hc.buildRemoveTrustAnchor('abcd'));
  t.true(isCardError(e, CardErrorCode.InvalidArgument));
});

test('ACTIVATE is 00 44 00 00', (t) => {
  t.is(apduHex(hc.buildActivate()), '00440000');
  t.true(
    isCardError(
      t.throws<CardError>(() => hc.parseActivate(r('6985'))),
      CardErrorCode.ConditionsNotSatisfied,
    ),
  );
});

test('VERIFY CERTIFICATE sends the time as 8-byte big-endian seconds, then the chain, extended', (t) => {
  const leaf = Buffer.concat([hex('3081C5'), filled(197, 0x33)]); // 200 bytes
  const ca = Buffer.concat([hex('308193'), filled(147, 0x44)]); // 150 bytes
  const at = new Date('2025-01-01T00:00:00.750Z'); // 1735689600 s = 0x67748580, fraction dropped
  const expected = `002A00BE 000166 0000000067748580 ${upper(leaf)}${upper(ca)} 0100`.replace(/ /g, '');
  t.is(apduHex(hc.buildVerifyCertificate([leaf, ca], at)), expected);
  t.is(hc.parseVerifyCertificate(r(`${'5A'.repeat(32)} 9000`)), '5a'.repeat(32));
});

test('VERIFY CERTIFICATE needs at least one certificate and a valid time', (t) => {
  const noChain = t.throws(() => hc.buildVerifyCertificate([], new Date()));
  t.true(isCardError(noChain, CardErrorCode.InvalidArgument));
  const badTime = t.throws(() => hc.buildVerifyCertificate([hex('3000')], new Date('not a date')));
  t.true(isCardError(badTime, CardErrorCode.InvalidArgument));
});

test('VERIFY CERTIFICATE answered 6300 03 is CertificateRejected because expired', (t) => {
  const e = t.throws<CardError>(() => hc.parseVerifyCertificate(r('03 6300')));
  t.true(isCardError(e, CardErrorCode.CertificateRejected));
  t.like(e?.context, { reason: 'expired', sw: 0x6300 });
});

test('COMPUTE DIGITAL SIGNATURE sends a 32-byte digest and returns the DER signature', (t) => {
  t.is(apduHex(hc.buildComputeSignature(filled(32, 0x01))), `002A9E9A20${'01'.repeat(32)}00`);
  const sig = '3044 0220' + '11'.repeat(32) + '0220' + '22'.repeat(32);
  t.is(upper(hc.parseComputeSignature(r(`${sig} 9000`))), sig.replace(/ /g, ''));
  const shortDigest = t.throws(() => hc.buildComputeSignature(filled(20, 1)));
  t.true(isCardError(shortDigest, CardErrorCode.InvalidArgument));
});

test('SIGN SESSION CERTIFICATE is CLA 80 with the TBS, extended when longer than 255 bytes', (t) => {
  const tbs = Buffer.concat([hex('3082 0128'), filled(296, 0x55)]); // 300 bytes
  t.is(apduHex(hc.buildSignSessionCertificate(tbs)), `802A9E9C00012C${upper(tbs)}0100`);
  const small = hex('3003 020101');
  t.is(apduHex(hc.buildSignSessionCertificate(small)), '802A9E9C05300302010100');
  const sig = '3045 0221 00' + '99'.repeat(32) + '0220' + '22'.repeat(32);
  t.is(upper(hc.parseSignSessionCertificate(r(`${sig} 9000`))), sig.replace(/ /g, ''));
  t.true(
    isCardError(
      t.throws<CardError>(() => hc.parseSignSessionCertificate(r('6A80'))),
      CardErrorCode.WrongData,
    ),
  );
});

test('FACTORY RESET is 80 FE 00 00', (t) => {
  t.is(apduHex(hc.buildFactoryReset()), '80FE0000');
  t.notThrows(() => hc.parseFactoryReset(r('9000')));
});

test('The command map names every command with its build and parse', (t) => {
  for (const [key, command] of Object.entries(hc.homeCardCommands)) {
    t.is(typeof command.name, 'string', key);
    t.is(typeof command.build, 'function', key);
    t.is(typeof command.parse, 'function', key);
  }
  t.is(hc.homeCardCommands.verifyPin.name, 'VERIFY');
  t.is(hc.homeCardCommands.signSessionCertificate.name, 'SIGN SESSION CERTIFICATE');
});
