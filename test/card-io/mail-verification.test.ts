/**
 * The terminal believes only what the home card signed (mail-verifier.ts):
 * every mutation of a genuine mail that a broker user could make is refused,
 * and what is accepted carries no unsigned extras.
 */
import test from 'ava';
import { cardKeyOf, verifyMail } from '../../card-io/access-card/mail-verifier.js';
import type { Notification } from '../../gateway/notify/notification.js';
import { signingCard } from '../helpers/signed-mail.js';

const ME = '00112233aabbccdd';
const OTHER = '99887766aabbccdd';
const plain = (n: Notification): Record<string, unknown> => JSON.parse(JSON.stringify(n)) as Record<string, unknown>;

test('When a mail carries the card-signed decision and shows its fields, it is accepted under the signed id', async (t) => {
  const card = await signingCard();
  const n = card.decision(7, ME);
  const v = verifyMail(plain(n), cardKeyOf(card.certificate), ME);
  if (typeof v === 'string') return t.fail(v);
  t.is(v.id, `${card.cardId}:decision:7`);
  t.deepEqual(v.notification.record, n.record);
});

test('When a decision, a cancel or a top-up is genuine, each is accepted, with the PEM certificate as with the DER one', async (t) => {
  const card = await signingCard();
  const pem = `-----BEGIN CERTIFICATE-----\n${card.certificate.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
  for (const n of [card.decision(3, ME), card.cancel(3, ME), card.topup(4, ME, 2000, 9000)]) {
    for (const cert of [card.certificate, pem]) t.false(typeof verifyMail(plain(n), cardKeyOf(cert), ME) === 'string', n.id);
  }
});

test('When a mail has no signed record, or one that is not a signed record, it is rejected as unsigned', async (t) => {
  const card = await signingCard();
  const key = cardKeyOf(card.certificate);
  const n = plain(card.decision(1, ME));
  t.is(verifyMail({ ...n, signedRecord: undefined }, key, ME), 'unsigned');
  t.is(verifyMail({ ...n, signedRecord: Buffer.from('not a record').toString('base64') }, key, ME), 'unsigned');
  t.is(verifyMail({ ...n, signedRecord: '***' }, key, ME), 'unsigned');
  t.is(verifyMail('{"id":"x"}', key, ME), 'unsigned');
  t.is(verifyMail({ ...n, type: 'refund' }, key, ME), 'unsigned');
});

test("When a mail is signed by another card (a forger's key, its own certificate attached), it is rejected", async (t) => {
  const mine = await signingCard();
  const forger = await signingCard(mine.cardId);
  const forged = plain(forger.decision(1, ME));
  t.is(verifyMail(forged, cardKeyOf(mine.certificate), ME), 'bad-signature');
  // The certificate the mail carries is not trusted: only the pinned one counts.
  t.is(verifyMail({ ...forged, cardCertificate: mine.certificate.toString('base64') }, cardKeyOf(mine.certificate), ME), 'bad-signature');
});

test('When any shown field differs from the signed one, the mail is rejected as a mismatch', async (t) => {
  const card = await signingCard();
  const key = cardKeyOf(card.certificate);
  const n = plain(card.decision(5, ME));
  const record = n.record as Record<string, unknown>;
  const mutations: Array<[string, Record<string, unknown>]> = [
    ['amount', { ...n, record: { ...record, amount: 1 } }],
    ['market', { ...n, record: { ...record, market: 'evil.example' } }],
    ['orderId', { ...n, record: { ...record, orderId: 'o-other' } }],
    ['seq', { ...n, record: { ...record, seq: 6 }, id: `${card.cardId}:decision:6` }],
    ['id (another seq)', { ...n, id: `${card.cardId}:decision:6` }],
    ['id (another card)', { ...n, id: `0000000000000000:decision:5` }],
    ['kind (a decision shown as a cancel)', { ...n, type: 'cancel', id: `${card.cardId}:cancel:5` }],
    ['status', { ...n, record: { ...record, status: 'cancelled' } }],
    ['currency', { ...n, record: { ...record, currency: 'USD' } }],
    ['record time', { ...n, record: { ...record, time: '2030-01-01T00:00:00.000Z' } }],
    ['mail time', { ...n, time: '2030-01-01T00:00:00.000Z' }],
    ['amount as a string', { ...n, record: { ...record, amount: String(record.amount) } }],
    ['no record', { ...n, record: undefined }],
    ['addressee', { ...n, terminalId: OTHER }],
  ];
  for (const [what, mutated] of mutations) t.is(verifyMail(mutated, key, ME), 'mismatch', what);
  // Addressed to this terminal, but read by another: also refused.
  t.is(verifyMail(n, key, OTHER), 'mismatch');
});

test('When a top-up shows another amount, counter or balance than the signed receipt, it is rejected', async (t) => {
  const card = await signingCard();
  const key = cardKeyOf(card.certificate);
  const n = plain(card.topup(9, ME, 2000, 12_000));
  const load = n.load as Record<string, unknown>;
  t.is(verifyMail({ ...n, load: { ...load, amount: 200_000 } }, key, ME), 'mismatch');
  t.is(verifyMail({ ...n, load: { ...load, newBalance: 1 } }, key, ME), 'mismatch');
  t.is(verifyMail({ ...n, balance: 1 }, key, ME), 'mismatch');
  t.is(verifyMail({ ...n, load: { ...load, counter: 10 }, id: `${card.cardId}:topup:10` }, key, ME), 'mismatch');
  // A decision record relabelled as a top-up is not a load receipt.
  t.is(verifyMail({ ...n, signedRecord: plain(card.decision(9, ME)).signedRecord }, key, ME), 'unsigned');
});

test('When a genuine decision carries an unsigned balance or another card certificate, the accepted mail does not pass them on', async (t) => {
  const card = await signingCard();
  const other = await signingCard();
  const n = { ...plain(card.decision(2, ME)), balance: 999_999 };
  const v = verifyMail(n, cardKeyOf(card.certificate), ME);
  if (typeof v === 'string') return t.fail(v);
  t.false('balance' in v.notification);
  t.is(v.notification.cardCertificate, card.certificate.toString('base64'), 'the pinned certificate is passed on');
  const w = verifyMail({ ...n, cardCertificate: other.certificate.toString('base64') }, cardKeyOf(card.certificate), ME);
  if (typeof w === 'string') return t.fail(w);
  t.false('cardCertificate' in w.notification);
});
