import test from 'ava';
import { generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLoadAuthorization } from '../../card-io/home-card/purse-authorizations.js';
import { startSandboxIssuer, SandboxIssuerOptionsError, type SandboxIssuer } from '../../deploy/sandbox/issuer/index.js';
import { issueHouseholdCredential, loadOrCreateIssuerPki, type HouseholdCredential, type IssuerPki } from '../../deploy/sandbox/issuer-pki.js';
import { loadOrCreateCa, type StoredCa } from '../../provisioning/ca-store.js';
import { createServerCertificate, derToPem } from '../../provisioning/pki/index.js';
import { PINS, purseFixture, INITIAL_BALANCE } from '../card-io/purse-fixtures.js';
import { codeOf, httpsJson, type JsonAnswer } from './payments-fixtures.js';

const HOUSEHOLD = 'household-0001';
const CARD_ID = '00112233445566ff';
const BALANCE = 5_000;

let dir: string;
let issuerCa: StoredCa;
let pki: IssuerPki;
let credential: HouseholdCredential;
const issuers: SandboxIssuer[] = [];

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'homegate-issuer-'));
  issuerCa = await loadOrCreateCa(join(dir, 'pki'), 'issuer-ca', 'CN=homegate sandbox issuer CA, O=homegate sandbox');
  pki = await loadOrCreateIssuerPki(join(dir, 'issuer'), issuerCa);
  credential = await issueHouseholdCredential(issuerCa, HOUSEHOLD, { dir: join(dir, 'gateway') });
});

test.after.always(async () => {
  await Promise.all(issuers.map((i) => i.stop()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function issuer(cards: string[] = [CARD_ID], balance = BALANCE): Promise<SandboxIssuer> {
  const i = await startSandboxIssuer({
    port: 0,
    serverCert: pki.serverCertificate,
    serverKey: pki.serverKey,
    clientCa: issuerCa.certificate,
    loadKey: pki.loadKey,
    accounts: [{ household: HOUSEHOLD, cards, balance, currency: 'EUR' }],
  });
  issuers.push(i);
  return i;
}

const asHousehold = (c: HouseholdCredential = credential) => ({
  certPem: derToPem(c.certificate),
  keyPem: c.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
});

function call(i: SandboxIssuer, method: 'GET' | 'POST', path: string, body?: unknown, client = asHousehold()): Promise<JsonAnswer> {
  return httpsJson({ port: i.port, method, path, body, caPem: derToPem(issuerCa.certificate), client });
}

/** A certificate for the card's key (any CA will do: the sandbox issuer pins the key it first sees for a card). */
const cardCertificate = (key: KeyObject) =>
  createServerCertificate({ subject: 'CN=Home card', subjectPublicKey: key, issuer: issuerCa, dnsNames: ['card.invalid'] });

const loadBody = (over: Record<string, unknown> = {}) => ({
  cardId: CARD_ID,
  amount: 1_200,
  currency: 'EUR',
  challenge: randomBytes(16).toString('base64'),
  ...over,
});

test('A load for a household card answers an authorization bound to the challenge and signed with the load key', async (t) => {
  const i = await issuer();
  const body = loadBody();
  const answer = await call(i, 'POST', '/v1/loads', body);
  t.is(answer.status, 200, JSON.stringify(answer.body));
  const authorization = Buffer.from(answer.body.authorization as string, 'base64');
  const signature = Buffer.from(answer.body.signature as string, 'base64');
  t.true(verify('sha256', authorization, { key: pki.loadPublicKey, format: 'der', type: 'spki', dsaEncoding: 'der' }, signature));
  t.deepEqual(parseLoadAuthorization(authorization), { cardId: CARD_ID, amount: 1_200, currency: 'EUR', challenge: Buffer.from(body.challenge, 'base64') });
  t.like(answer.body, { status: 'reserved', accountBalance: BALANCE, reserved: 1_200 });
  t.is(typeof answer.body.id, 'string');
});

test('When a load is asked for, the amount is reserved, not debited, and a later load can use only what is not held', async (t) => {
  const i = await issuer();
  const reserved = await call(i, 'POST', '/v1/loads', loadBody({ amount: 700 }));
  const account = await call(i, 'GET', '/v1/account');
  t.is(account.status, 200);
  t.like(account.body, { household: HOUSEHOLD, balance: BALANCE, reserved: 700, currency: 'EUR', cards: [CARD_ID], loads: [] });
  t.like((account.body.reservations as unknown[])[0], { id: reserved.body.id, cardId: CARD_ID, amount: 700, status: 'reserved' });
  t.deepEqual(i.account(HOUSEHOLD), account.body);
  t.is(i.account('nobody'), undefined);
  const over = await call(i, 'POST', '/v1/loads', loadBody({ amount: BALANCE - 700 + 1 }));
  t.is(codeOf(over), 'insufficient-account-funds');
  t.is((await call(i, 'POST', '/v1/loads', loadBody({ amount: BALANCE - 700 }))).status, 200);
});

test('A load for a card the household does not have is 403 card-unknown and debits nothing', async (t) => {
  const i = await issuer();
  const answer = await call(i, 'POST', '/v1/loads', loadBody({ cardId: 'ffeeddccbbaa9988' }));
  t.is(answer.status, 403);
  t.is(codeOf(answer), 'card-unknown');
  t.is(i.account(HOUSEHOLD)?.balance, BALANCE);
});

test('A load beyond the account balance is 402 insufficient-account-funds and debits nothing', async (t) => {
  const i = await issuer();
  const answer = await call(i, 'POST', '/v1/loads', loadBody({ amount: BALANCE + 1 }));
  t.is(answer.status, 402);
  t.is(codeOf(answer), 'insufficient-account-funds');
  t.like(i.account(HOUSEHOLD), { balance: BALANCE, loads: [] });
});

test('A malformed load request is 400 bad-request', async (t) => {
  const i = await issuer();
  for (const over of [{ challenge: randomBytes(15).toString('base64') }, { amount: 0 }, { amount: 1.5 }, { cardId: 'xyz' }, { currency: 'USD' }]) {
    const answer = await call(i, 'POST', '/v1/loads', loadBody(over));
    t.is(answer.status, 400, JSON.stringify(over));
    t.is(codeOf(answer), 'bad-request');
  }
});

test('A client without a household credential is refused during the handshake', async (t) => {
  const i = await issuer();
  const err = await t.throwsAsync(httpsJson({ port: i.port, method: 'GET', path: '/v1/account', caPem: derToPem(issuerCa.certificate) }));
  t.regex(err?.message ?? '', /certificate required|socket hang up|ECONNRESET/);
});

test('A credential from another CA is refused, and one for a household without an account is 403 household-unknown', async (t) => {
  const i = await issuer();
  const otherCa = await loadOrCreateCa(join(dir, 'other'), 'other-ca', 'CN=Other CA');
  const foreign = await issueHouseholdCredential(otherCa, HOUSEHOLD, { dir: join(dir, 'other-gateway') });
  await t.throwsAsync(call(i, 'GET', '/v1/account', undefined, asHousehold(foreign)));
  const stranger = await issueHouseholdCredential(issuerCa, 'household-9999', { dir: join(dir, 'stranger') });
  const answer = await call(i, 'POST', '/v1/loads', loadBody(), asHousehold(stranger));
  t.is(answer.status, 403);
  t.is(codeOf(answer), 'household-unknown');
});

test("The card accepts the issuer's authorization for its own challenge: LOAD credits the purse, and its receipt commits the debit once", async (t) => {
  const fx = await purseFixture(t, { storage: 'memory', purse: { issuerLoadKey: pki.loadPublicKey } });
  const i = await issuer([fx.cardId]);
  await fx.card.verifyPin1(PINS.pin1);
  const challenge = await fx.card.loadChallenge();
  const answer = await call(i, 'POST', '/v1/loads', loadBody({ cardId: fx.cardId, amount: 2_500, challenge: challenge.toString('base64') }));
  t.is(answer.status, 200, JSON.stringify(answer.body));
  const receipt = await fx.card.load({
    authorization: Buffer.from(answer.body.authorization as string, 'base64'),
    signature: Buffer.from(answer.body.signature as string, 'base64'),
  });
  t.is(receipt.balance, INITIAL_BALANCE + 2_500);
  const id = answer.body.id as string;
  const body = { receipt: receipt.bytes.toString('base64'), cardCertificate: (await cardCertificate(fx.cardKey)).toString('base64') };
  const committed = await call(i, 'POST', `/v1/loads/${id}/commit`, body);
  t.like(committed, { status: 200, body: { status: 'committed', accountBalance: BALANCE - 2_500, reserved: 0 } });
  t.like(await call(i, 'POST', `/v1/loads/${id}/commit`, body), { status: 200, body: { accountBalance: BALANCE - 2_500 } }, 'a repeated commit is idempotent');
  const voided = await call(i, 'POST', `/v1/loads/${id}/void`);
  t.is(codeOf(voided), 'load-committed');
  t.like(i.account(HOUSEHOLD), { balance: BALANCE - 2_500, reserved: 0 });
  t.is(i.account(HOUSEHOLD)!.loads.length, 1);
});

test("When a commit brings a receipt that is not the card's for that reservation, it is 422 receipt-invalid and nothing is debited", async (t) => {
  const fx = await purseFixture(t, { storage: 'memory', purse: { issuerLoadKey: pki.loadPublicKey } });
  const i = await issuer([fx.cardId]);
  await fx.card.verifyPin1(PINS.pin1);
  const challenge = (await fx.card.loadChallenge()).toString('base64');
  const first = await call(i, 'POST', '/v1/loads', loadBody({ cardId: fx.cardId, amount: 1_000, challenge }));
  const receipt = await fx.card.load({
    authorization: Buffer.from(first.body.authorization as string, 'base64'),
    signature: Buffer.from(first.body.signature as string, 'base64'),
  });
  const other = await call(i, 'POST', '/v1/loads', loadBody({ cardId: fx.cardId, amount: 1_000 }));
  const cert = (await cardCertificate(fx.cardKey)).toString('base64');
  const stranger = (await cardCertificate(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)).toString('base64');
  const cases: Array<[string, Record<string, string>]> = [
    ["another reservation's receipt", { id: other.body.id as string, receipt: receipt.bytes.toString('base64'), cardCertificate: cert }],
    ["a receipt with another key's certificate", { id: first.body.id as string, receipt: receipt.bytes.toString('base64'), cardCertificate: stranger }],
    ['an edited receipt', { id: first.body.id as string, receipt: Buffer.from(receipt.bytes).fill(0x41, 20, 24).toString('base64'), cardCertificate: cert }],
  ];
  for (const [what, { id, ...body }] of cases) {
    const answer = await call(i, 'POST', `/v1/loads/${id}/commit`, body);
    t.is(answer.status, 422, what);
    t.is(codeOf(answer), 'receipt-invalid', what);
  }
  t.like(i.account(HOUSEHOLD), { balance: BALANCE, reserved: 2_000, loads: [] });
});

test('When a reservation is voided or expires, its funds are released and it can no longer be committed', async (t) => {
  let now = Date.parse('2030-01-01T00:00:00Z');
  const i = await startSandboxIssuer({
    port: 0,
    serverCert: pki.serverCertificate,
    serverKey: pki.serverKey,
    clientCa: issuerCa.certificate,
    loadKey: pki.loadKey,
    accounts: [{ household: HOUSEHOLD, cards: [CARD_ID], balance: BALANCE, currency: 'EUR' }],
    reservationTtlMs: 60_000,
    clock: () => new Date(now),
  });
  issuers.push(i);
  const a = await call(i, 'POST', '/v1/loads', loadBody({ amount: 1_000 }));
  const b = await call(i, 'POST', '/v1/loads', loadBody({ amount: 2_000 }));
  t.like(i.account(HOUSEHOLD), { balance: BALANCE, reserved: 3_000 });
  t.like(await call(i, 'POST', `/v1/loads/${a.body.id as string}/void`), { status: 200, body: { status: 'voided', reserved: 2_000 } });
  t.like(await call(i, 'POST', `/v1/loads/${a.body.id as string}/void`), { status: 200, body: { status: 'voided' } }, 'voiding again changes nothing');
  now += 60_000;
  t.like(await call(i, 'GET', `/v1/loads/${b.body.id as string}`), { status: 200, body: { status: 'expired' } });
  t.like(i.account(HOUSEHOLD), { balance: BALANCE, reserved: 0, loads: [] });
  const commit = await call(i, 'POST', `/v1/loads/${b.body.id as string}/commit`, { receipt: 'AAAA', cardCertificate: 'AAAA' });
  t.is(codeOf(commit), 'load-released');
  t.is(codeOf(await call(i, 'POST', '/v1/loads/load-999999/void')), 'load-unknown');
});

test('The issuer PKI is reused across restarts with owner-only keys; the credential files are owner-only', async (t) => {
  const again = await loadOrCreateIssuerPki(join(dir, 'issuer'), issuerCa);
  t.deepEqual(again.loadPublicKey, pki.loadPublicKey);
  t.deepEqual(again.serverCertificate, pki.serverCertificate);
  for (const path of [pki.loadKeyPath, pki.serverKeyPath, credential.keyPath, credential.certPath]) {
    t.is((await stat(path)).mode & 0o777, 0o600, path);
  }
});

test('Invalid issuer options are reported all at once', async (t) => {
  const err = await t.throwsAsync(
    startSandboxIssuer({
      port: -1,
      serverCert: 'nope',
      serverKey: 'nope',
      clientCa: [],
      loadKey: pki.serverCertificate as never,
      accounts: [{ household: '', cards: ['12'], balance: -1, currency: 'USD' as 'EUR' }],
    }),
    { instanceOf: SandboxIssuerOptionsError },
  );
  t.is(err?.problems.length, 9);
});
