/**
 * The driver ↔ reference card integration suite, one body for every
 * transport (STYLE item 10: the same suite runs in memory and over a real pty
 * pair). Each test boots its own card with `makeCard`, personalizes it as
 * provisioning does, and talks to it only through the HomeCard API; the bytes
 * cross the real T=1 layers on both sides and the card keeps its state in a
 * real image file.
 */
import { X509Certificate, createHash, verify as verifySignature } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import { CardErrorCode, isCardError, type CardError } from '../../card-io/errors.js';
import { sha256Fingerprint } from '../../provisioning/pki/index.js';
import type { RegisterTest } from '../helpers/binaries.js';
import { MARKET_HOSTS, TEST_PINS, createMarketPki, personalizeTestCard, type MakeCard } from '../helpers/household/index.js';
import { buildSessionTbs } from './session-tbs.js';

const WRONG_PIN1 = '9999';

/** Awaits `promise`, expecting a CardError with `code`; fails the test with what happened otherwise. */
export async function expectCardError(t: ExecutionContext, promise: Promise<unknown>, code: CardErrorCode): Promise<CardError> {
  const error = await t.throwsAsync(promise);
  if (!isCardError(error, code)) {
    t.fail(`expected CardError ${code}, got ${String(error)}`);
    throw error;
  }
  return error;
}

function publicKeyOf(certificateDer: Buffer) {
  return new X509Certificate(certificateDer).publicKey;
}

export function registerCardStackSuite(register: RegisterTest, makeCard: MakeCard): void {
  register('After personalization, info shows an operational card with its certificate subject and full retry counters', async (t) => {
    const cut = await makeCard(t);
    const before = await cut.card.info();
    t.is(before.lifeCycle, 'personalization');
    t.is(before.certificate, undefined);

    const { certificate } = await personalizeTestCard(cut, 'CN=Home card 01, O=Household');
    const info = await cut.card.info();
    t.is(info.lifeCycle, 'operational');
    t.is(info.version, '1.0');
    t.is(info.cardId, before.cardId);
    t.true(info.certificate?.equals(certificate));
    t.is(info.certificateSubject, 'CN=Home card 01, O=Household');
    t.true(info.publicKey?.equals(publicKeyOf(certificate)));
    t.deepEqual(info.retryCounters, {
      pin1: { left: 3, max: 3 },
      pin2: { left: 3, max: 3 },
      puk: { left: 10, max: 10 },
      admin: { left: 10, max: 10 },
    });
  });

  register('A wrong PIN1 reports the tries left, and after three wrong tries PIN1 is blocked even for the right PIN', async (t) => {
    const cut = await makeCard(t);
    await personalizeTestCard(cut);
    for (const left of [2, 1, 0]) {
      const e = await expectCardError(t, cut.card.verifyPin1(WRONG_PIN1), CardErrorCode.WrongPin);
      t.is(e.context.sw, 0x63c0 | left);
      t.is(e.context.triesLeft, left);
      t.is(e.context.pin, 'PIN1');
    }
    const blocked = await expectCardError(t, cut.card.verifyPin1(TEST_PINS.pin1), CardErrorCode.PinBlocked);
    t.is(blocked.context.sw, 0x6983);
    t.deepEqual(await cut.card.pinStatus('PIN1'), { verified: false, triesLeft: 0, blocked: true });
    t.deepEqual((await cut.card.info()).retryCounters.pin1, { left: 0, max: 3 });
  });

  register('Unblocking PIN1 with the PUK sets the new PIN and restores its retry counter', async (t) => {
    const cut = await makeCard(t);
    await personalizeTestCard(cut);
    for (let i = 0; i < 3; i++) await t.throwsAsync(cut.card.verifyPin1(WRONG_PIN1));
    await expectCardError(t, cut.card.verifyPin1(TEST_PINS.pin1), CardErrorCode.PinBlocked);

    const wrongPuk = await expectCardError(t, cut.card.unblockPin('PIN1', '11111111', '4321'), CardErrorCode.WrongPin);
    t.is(wrongPuk.context.triesLeft, 9);
    await cut.card.unblockPin('PIN1', TEST_PINS.puk, '4321');
    const counters = (await cut.card.info()).retryCounters;
    t.deepEqual(counters.pin1, { left: 3, max: 3 });
    t.deepEqual(counters.puk, { left: 10, max: 10 });

    await cut.card.verifyPin1('4321');
    t.deepEqual(await cut.card.pinStatus('PIN1'), { verified: true, triesLeft: 3, blocked: false });
    const old = await expectCardError(t, cut.card.verifyPin1(TEST_PINS.pin1), CardErrorCode.WrongPin);
    t.is(old.context.triesLeft, 2);
  });

  register('PIN2 before PIN1 is refused and costs no try, right or wrong', async (t) => {
    const cut = await makeCard(t);
    await personalizeTestCard(cut);
    const right = await expectCardError(t, cut.card.verifyPin2(TEST_PINS.pin2), CardErrorCode.SecurityStatusNotSatisfied);
    t.is(right.context.sw, 0x6982);
    await expectCardError(t, cut.card.verifyPin2('0000'), CardErrorCode.SecurityStatusNotSatisfied);
    t.deepEqual((await cut.card.info()).retryCounters.pin2, { left: 3, max: 3 });
    // Nothing was released: a signature is still refused.
    await expectCardError(t, cut.card.sign(Buffer.alloc(32, 1)), CardErrorCode.SecurityStatusNotSatisfied);
  });

  register('PIN2 releases the card for exactly one signature', async (t) => {
    const cut = await makeCard(t);
    await personalizeTestCard(cut);
    await cut.card.verifyPin1(TEST_PINS.pin1);
    await cut.card.verifyPin2(TEST_PINS.pin2);
    const digest = createHash('sha256').update('first').digest();
    t.true((await cut.card.sign(digest)).length > 0);
    await expectCardError(t, cut.card.sign(digest), CardErrorCode.SecurityStatusNotSatisfied);
    // PIN1 stays verified; PIN2 again releases one more.
    await cut.card.verifyPin2(TEST_PINS.pin2);
    t.true((await cut.card.sign(digest)).length > 0);
    await expectCardError(t, cut.card.sign(digest), CardErrorCode.SecurityStatusNotSatisfied);
  });

  register('The card signature over a message verifies with the public key of the card certificate', async (t) => {
    const cut = await makeCard(t);
    const { certificate } = await personalizeTestCard(cut);
    await cut.card.verifyPin1(TEST_PINS.pin1);
    await cut.card.verifyPin2(TEST_PINS.pin2);
    const message = Buffer.from('homegate: pay 12.50 EUR to shop.example, order 4711');
    const signature = await cut.card.sign(createHash('sha256').update(message).digest());
    const key = { key: publicKeyOf(certificate), dsaEncoding: 'der' as const };
    t.true(verifySignature('sha256', message, key, signature));
    t.false(verifySignature('sha256', Buffer.from('homegate: pay 99.00 EUR'), key, signature));
  });

  register('VERIFY CERTIFICATE accepts the chain of a trusted market and rejects a foreign chain as untrusted', async (t) => {
    const cut = await makeCard(t);
    const { market } = await personalizeTestCard(cut);
    const foreign = await createMarketPki('Elsewhere', ['shop.elsewhere.example']);
    await cut.card.verifyPin1(TEST_PINS.pin1);
    await cut.card.verifyPin2(TEST_PINS.pin2);
    const now = new Date();
    const fingerprint = await cut.card.verifyCertificateChain(market.chain, now);
    t.is(fingerprint, sha256Fingerprint(market.leaf).toString('hex'));
    const e = await expectCardError(t, cut.card.verifyCertificateChain(foreign.chain, now), CardErrorCode.CertificateRejected);
    t.is(e.context.reason, 'untrusted');
    t.is(e.context.sw, 0x6300);
  });

  register('A session certificate naming the verified market is signed, and one naming another host is refused', async (t) => {
    const cut = await makeCard(t);
    const { market, certificate } = await personalizeTestCard(cut);
    await cut.card.verifyPin1(TEST_PINS.pin1);
    await cut.card.verifyPin2(TEST_PINS.pin2);
    const at = new Date();
    await cut.card.verifyCertificateChain(market.chain, at);

    const other = await buildSessionTbs({ cardCertificate: certificate, dnsNames: ['evil.example'], at });
    await expectCardError(t, cut.card.signSessionCertificate(other.tbs), CardErrorCode.WrongData);

    // The refusal signed nothing, so the release is still there for a correct request.
    const session = await buildSessionTbs({ cardCertificate: certificate, dnsNames: [MARKET_HOSTS[0]], at });
    const signature = await cut.card.signSessionCertificate(session.tbs);
    const cardKey = publicKeyOf(certificate);
    t.true(verifySignature('sha256', session.tbs, { key: cardKey, dsaEncoding: 'der' }, signature));
    const sessionCertificate = new X509Certificate(session.assemble(signature));
    t.true(sessionCertificate.verify(cardKey));
    t.true(sessionCertificate.checkIssued(new X509Certificate(certificate)));
    // The signature used up the release.
    await expectCardError(t, cut.card.signSessionCertificate(session.tbs), CardErrorCode.SecurityStatusNotSatisfied);
  });

  register('A command with more than 1 KB of data (a certificate chain) crosses the line in chained T=1 blocks', async (t) => {
    const cut = await makeCard(t);
    const { market } = await personalizeTestCard(cut);
    await cut.card.verifyPin1(TEST_PINS.pin1);
    await cut.card.verifyPin2(TEST_PINS.pin2);
    // Leaf, issuing CA and the anchor itself: PROTOCOL.md allows the anchor at the end of the chain.
    const chain = [...market.chain, Buffer.from(market.root.certificate)];
    const length = chain.reduce((n, c) => n + c.length, 0);
    t.true(length > 1024, `chain of ${length} bytes`);
    const blocksBefore = cut.ifd.stats.blocksSent;
    const fingerprint = await cut.card.verifyCertificateChain(chain, new Date());
    t.is(fingerprint, sha256Fingerprint(market.leaf).toString('hex'));
    // IFSC 32: the APDU needs at least length / 32 I-blocks.
    t.true(cut.ifd.stats.blocksSent - blocksBefore >= Math.ceil(length / 32), `${cut.ifd.stats.blocksSent - blocksBefore} blocks`);
  });
}
