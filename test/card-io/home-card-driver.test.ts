/**
 * HomeCard methods over a scripted transport: which commands they send, how
 * they read the answers, and how card errors reach the caller.
 */
import { X509Certificate } from 'node:crypto';
import test from 'ava';
import { CardError, CardErrorCode, isCardError } from '../../card-io/errors.js';
import { HomeCard } from '../../card-io/home-card/index.js';
import { CARD_CERTIFICATE_DER, ScriptedTransport, hex } from './home-card-fakes.js';

const SPKI = new X509Certificate(CARD_CERTIFICATE_DER).publicKey.export({ type: 'spki', format: 'der' });
const sentHex = (transport: ScriptedTransport) => transport.sent.map((b) => b.toString('hex').toUpperCase());

/** A card answering GET DATA from a table of tags; absent tags answer 6A88. */
function dataCard(values: Record<string, Buffer>) {
  return new ScriptedTransport((bytes) => {
    const tag = bytes.subarray(2, 4).toString('hex').toUpperCase();
    const value = bytes[1] === 0xca ? values[tag] : undefined;
    return value ? Buffer.concat([value, hex('9000')]) : hex('6A88');
  });
}

const PERSONALIZED = {
  DF01: hex('0102030405060708'),
  DF02: hex('0100'),
  DF05: hex('03'),
  DF03: hex('0303 0303 0A0A 0A0A'),
};

test('select returns card id, version and life cycle from the FCI', async (t) => {
  const fci = '6F20 840AF0484F4D454741544501 DF01080102030405060708 DF02020100 DF050103 9000';
  const transport = ScriptedTransport.replies(fci);
  const info = await new HomeCard({ transport }).select();
  t.deepEqual(info, { cardId: '0102030405060708', version: '1.0', lifeCycle: 'personalization' });
  t.deepEqual(sentHex(transport), ['00A404000AF0484F4D45474154450100']);
});

test('info on a fresh card reports no certificate and no key, without an error', async (t) => {
  const info = await new HomeCard({ transport: dataCard(PERSONALIZED) }).info();
  t.is(info.cardId, '0102030405060708');
  t.is(info.version, '1.0');
  t.is(info.lifeCycle, 'personalization');
  t.deepEqual(info.retryCounters.puk, { left: 10, max: 10 });
  t.is(info.certificate, undefined);
  t.is(info.certificateSubject, undefined);
  t.is(info.publicKey, undefined);
});

test('info on a personalized card reports the certificate, its subject and the public key', async (t) => {
  const transport = dataCard({ ...PERSONALIZED, DF04: SPKI, '7F21': CARD_CERTIFICATE_DER });
  const info = await new HomeCard({ transport }).info();
  t.true(info.certificate?.equals(CARD_CERTIFICATE_DER));
  t.regex(info.certificateSubject ?? '', /CN=Home Card 0102030405060708/);
  t.true(info.publicKey?.export({ type: 'spki', format: 'der' }).equals(SPKI));
  t.true(sentHex(transport).includes('00CA7F21000000'), 'the certificate is read with an extended Le');
});

test('info passes on card errors other than an absent value', async (t) => {
  const transport = new ScriptedTransport(() => hex('6F00'));
  const e = await t.throwsAsync(new HomeCard({ transport }).info());
  t.true(isCardError(e, CardErrorCode.CardStatus));
});

test('pinStatus of a verified PIN reads its tries left from the retry counters', async (t) => {
  const transport = ScriptedTransport.replies('9000', '0303 0203 0A0A 0A0A 9000');
  const status = await new HomeCard({ transport }).pinStatus('PIN2');
  t.deepEqual(status, { verified: true, triesLeft: 2, blocked: false });
  t.deepEqual(sentHex(transport), ['00200082', '00CADF0300']);
});

test('pinStatus of an unverified or blocked PIN takes the tries left from the status word', async (t) => {
  t.deepEqual(await new HomeCard({ transport: ScriptedTransport.replies('63C1') }).pinStatus('PIN1'), {
    verified: false,
    triesLeft: 1,
    blocked: false,
  });
  t.deepEqual(await new HomeCard({ transport: ScriptedTransport.replies('6983') }).pinStatus('PIN1'), {
    verified: false,
    triesLeft: 0,
    blocked: true,
  });
});

test('verifyPin2 before PIN1 is SecurityStatusNotSatisfied', async (t) => {
  const e = await t.throwsAsync(new HomeCard({ transport: ScriptedTransport.replies('6982') }).verifyPin2('1234'));
  t.true(isCardError(e, CardErrorCode.SecurityStatusNotSatisfied));
});

test('A blocked PIN1 answers PinBlocked even for the right PIN', async (t) => {
  const card = new HomeCard({ transport: ScriptedTransport.replies('6983') });
  const e = await t.throwsAsync<CardError>(card.verifyPin1('1234'));
  t.true(isCardError(e, CardErrorCode.PinBlocked));
  t.is(e?.message, 'PIN1 is blocked (HG-402)');
});

test('changePin, unblockPin and resetPinState send their commands', async (t) => {
  const transport = ScriptedTransport.replies('9000', '9000', '9000');
  const card = new HomeCard({ transport });
  await card.changePin('PIN1', '1234', '5678');
  await card.unblockPin('PIN1', '12345678', '4321');
  await card.resetPinState('PIN1');
  t.deepEqual(sentHex(transport), ['002400811031323334FFFFFFFF35363738FFFFFFFF', '002C008110313233343536373834333231FFFFFFFF', '0020FF81']);
});

test('setPins checks all three values before sending any', async (t) => {
  const transport = ScriptedTransport.replies('9000', '9000', '9000');
  const e = await new HomeCard({ transport }).setPins({ pin1: '1234', pin2: '5678', puk: '123' }).then(
    () => undefined,
    (err: unknown) => err,
  );
  t.true(isCardError(e, CardErrorCode.InvalidArgument));
  t.is(transport.sent.length, 0);
});

test('generateKeyPair, putCertificate and activate go through to the card', async (t) => {
  const transport = ScriptedTransport.replies(`${SPKI.toString('hex')} 9000`, '9000', '9000');
  const card = new HomeCard({ transport });
  const key = await card.generateKeyPair();
  t.is(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  await card.putCertificate(CARD_CERTIFICATE_DER);
  await card.activate();
  const sent = sentHex(transport);
  t.is(sent[0], '0047800000');
  t.is(sent[1]!.slice(0, 14), '00DA7F210001CA'); // 458 = 0x01CA, extended Lc
  t.is(sent[2], '00440000');
});

test('Trust anchors are listed, added and removed by fingerprint', async (t) => {
  const fp = 'ab'.repeat(32);
  const transport = ScriptedTransport.replies(`${fp} 9000`, '9000', '6A88');
  const card = new HomeCard({ transport });
  t.deepEqual(await card.listTrustAnchors(), [fp]);
  await card.addTrustAnchor(CARD_CERTIFICATE_DER);
  const e = await t.throwsAsync(card.removeTrustAnchor(fp));
  t.true(isCardError(e, CardErrorCode.NotFound));
  t.is(sentHex(transport)[2], `00DADF2120${fp.toUpperCase()}`);
});

test('verifyCertificateChain returns the leaf fingerprint, or CertificateRejected with the reason', async (t) => {
  const fp = '5a'.repeat(32);
  const transport = ScriptedTransport.replies(`${fp} 9000`, '01 6300');
  const card = new HomeCard({ transport });
  const at = new Date('2025-01-01T00:00:00Z');
  t.is(await card.verifyCertificateChain([CARD_CERTIFICATE_DER], at), fp);
  const e = await t.throwsAsync<CardError>(card.verifyCertificateChain([CARD_CERTIFICATE_DER], at));
  t.true(isCardError(e, CardErrorCode.CertificateRejected));
  t.is(e?.context.reason, 'untrusted');
});

test('sign and signSessionCertificate return the DER signature; factoryReset needs admin (6982)', async (t) => {
  const sig = `3006020101020102`;
  const transport = ScriptedTransport.replies(`${sig} 9000`, `${sig} 9000`, '6982');
  const card = new HomeCard({ transport });
  t.is((await card.sign(Buffer.alloc(32, 7))).toString('hex'), sig);
  t.is((await card.signSessionCertificate(hex('3003020101'))).toString('hex'), sig);
  const e = await t.throwsAsync(card.factoryReset());
  t.true(isCardError(e, CardErrorCode.SecurityStatusNotSatisfied));
  t.is(sentHex(transport)[2], '80FE0000');
});

test('A command the card does not answer in time fails with CommandTimeout, and the next waits for it', async (t) => {
  let release!: () => void;
  const transport = new ScriptedTransport((_bytes, i) => (i === 0 ? new Promise<Buffer>((resolve) => (release = () => resolve(hex('9000')))) : hex('9000')));
  const card = new HomeCard({ transport, commandTimeoutMs: 20 });
  const e = await t.throwsAsync(card.verifyPin1('1234'));
  t.true(isCardError(e, CardErrorCode.CommandTimeout));
  const next = card.resetPinState('PIN1');
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.is(transport.sent.length, 1, 'the next command is not sent while the first is still on the line');
  release();
  await next;
  t.is(transport.sent.length, 2);
});

test('Transport errors reach the caller unchanged and the next command still runs', async (t) => {
  const failure = new CardError(CardErrorCode.BlockTimeout, 'No block from the card');
  const transport = new ScriptedTransport((_bytes, i) => (i === 0 ? Promise.reject(failure) : hex('9000')));
  const card = new HomeCard({ transport });
  t.is(await t.throwsAsync(card.activate()), failure);
  await t.notThrowsAsync(card.activate());
});
