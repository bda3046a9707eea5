import test from 'ava';
import { createPublicKey, verify, X509Certificate } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { checkMarketSigner } from '../../card-io/emulator/purse-market-signer.js';
import { parseCancelAuthorization } from '../../card-io/home-card/purse-authorizations.js';
import { startSandboxMarket, SandboxMarketOptionsError, type SandboxMarket, type SandboxMarketOptions } from '../../deploy/sandbox/market/index.js';
import { certifyCardKey, createCaCertificate, derToPem, generateP256KeyPair } from '../../provisioning/pki/index.js';
import { x509 } from '../../provisioning/pki/x509-provider.js';
import { createCardChain, createTlsFixture, type TlsFixture } from '../helpers/tls-fixtures.js';
import { connectToMarket } from './market-client.js';
import { codeOf, encodeRecord, httpsJson, signCancelRequest, signRecord, type JsonAnswer, type RecordFields } from './payments-fixtures.js';

const CARD_ID = '00112233445566ff';
interface NewOrder {
  orderId: string;
  item: string;
  amount: number;
  currency: string;
  status: string;
}

let fixture: TlsFixture;
const markets: SandboxMarket[] = [];

test.before(async () => {
  fixture = await createTlsFixture();
});

test.after.always(async () => {
  await Promise.all(markets.map((m) => m.stop()));
  await fixture?.cleanup();
});

async function market(extra: Partial<SandboxMarketOptions> = {}): Promise<SandboxMarket> {
  const m = await startSandboxMarket({
    port: 0,
    serverCert: fixture.market.serverCertificate,
    serverKey: fixture.market.serverKey,
    clientCa: fixture.issuer.certificate,
    signer: { certificate: fixture.market.signingCertificate, privateKey: fixture.market.signingKey },
    ...extra,
  });
  markets.push(m);
  return m;
}

const marketCaPem = () => derToPem(fixture.market.caCertificate);

function anonymous(m: SandboxMarket, method: 'GET' | 'POST', path: string, body?: unknown): Promise<JsonAnswer> {
  return httpsJson({ port: m.port, method, path, body, caPem: marketCaPem() });
}

async function newOrder(m: SandboxMarket, item = 'coffee-250g', quantity = 2): Promise<NewOrder> {
  const conn = await connectToMarket({ port: m.port, marketCaPem: marketCaPem(), client: fixture.client });
  try {
    const { status, body } = await conn.postJson('/orders', { item, quantity });
    if (status !== 200) throw new Error(`POST /orders answered ${status}: ${JSON.stringify(body)}`);
    return body as NewOrder;
  } finally {
    conn.close();
  }
}

function paid(order: NewOrder, over: Partial<RecordFields> = {}): RecordFields {
  const time = Math.floor(Date.now() / 1000);
  return { seq: 7, cardId: CARD_ID, market: 'localhost', orderId: order.orderId, amount: order.amount, currency: 'EUR', time, status: 'paid', ...over };
}

/** The card's signed cancel request for `fields` (a paid record), as the gateway forwards it. */
function cancelBody(fields: RecordFields, key = fixture.card.privateKey, cardCertificate = fixture.card.certificate) {
  return { cancelRequest: signCancelRequest(fields, key).toString('base64'), cardCertificate: Buffer.from(cardCertificate).toString('base64') };
}

function askCancel(m: SandboxMarket, fields: RecordFields, key = fixture.card.privateKey, cardCertificate = fixture.card.certificate): Promise<JsonAnswer> {
  return anonymous(m, 'POST', `/payment-api/orders/${fields.orderId}/cancel`, cancelBody(fields, key, cardCertificate));
}

function present(m: SandboxMarket, fields: RecordFields, key = fixture.card.privateKey, cardCertificate = fixture.card.certificate): Promise<JsonAnswer> {
  const signedRecord = signRecord(encodeRecord(fields), key).toString('base64');
  return anonymous(m, 'POST', '/payment-api/payments', { signedRecord, cardCertificate: Buffer.from(cardCertificate).toString('base64') });
}

test('A terminal creates an order over its client-certificate connection: price × quantity in EUR, open', async (t) => {
  const m = await market();
  const order = await newOrder(m, 'coffee-250g', 2);
  t.like(order, { item: 'coffee-250g', amount: 1580, currency: 'EUR', status: 'open' });
  t.regex(order.orderId, /^ord-[0-9a-f]{24}$/);
  t.is(m.orders.get(order.orderId)?.quantity, 2);
});

test("A terminal resuming the gateway's session creates an order without holding any client key", async (t) => {
  const m = await market();
  const first = await connectToMarket({ port: m.port, marketCaPem: marketCaPem(), client: fixture.client });
  await first.getJson('/health');
  const session = await first.session();
  first.close();
  const resumed = await connectToMarket({ port: m.port, marketCaPem: marketCaPem(), session });
  t.teardown(() => resumed.close());
  t.true(resumed.socket.isSessionReused());
  t.like(await resumed.postJson('/orders', { item: 'mug', quantity: 1 }), { status: 200, body: { amount: 1250, status: 'open' } });
  t.like(await resumed.postJson('/orders', { item: 'caviar' }), { status: 404, body: { error: { code: 'item-unknown' } } });
  t.like(await resumed.postJson('/orders', { item: 'mug', quantity: 0 }), { status: 400, body: { error: { code: 'bad-request' } } });
});

test('Creating an order without a client certificate answers 403 client-certificate-required', async (t) => {
  const m = await market();
  const answer = await anonymous(m, 'POST', '/orders', { item: 'mug', quantity: 1 });
  t.is(answer.status, 403);
  t.is(codeOf(answer), 'client-certificate-required');
});

test('An order is read without a client certificate, and an unknown one is 404 order-unknown', async (t) => {
  const m = await market();
  const order = await newOrder(m);
  t.deepEqual(await anonymous(m, 'GET', `/payment-api/orders/${order.orderId}`), {
    status: 200,
    body: { orderId: order.orderId, amount: 1580, currency: 'EUR', status: 'open' },
  });
  const unknown = await anonymous(m, 'GET', '/payment-api/orders/ord-nope');
  t.is(unknown.status, 404);
  t.is(codeOf(unknown), 'order-unknown');
});

test('A record signed by the card key, naming this market and the order amount, pays the order; the same record again answers the same', async (t) => {
  const m = await market();
  const order = await newOrder(m);
  const fields = paid(order);
  const signedRecord = signRecord(encodeRecord(fields), fixture.card.privateKey).toString('base64');
  const body = { signedRecord, cardCertificate: Buffer.from(fixture.card.certificate).toString('base64') };
  const first = await anonymous(m, 'POST', '/payment-api/payments', body);
  t.deepEqual(first, { status: 200, body: { orderId: order.orderId, status: 'paid' } });
  t.deepEqual((await anonymous(m, 'GET', `/payment-api/orders/${order.orderId}`)).body, {
    orderId: order.orderId,
    amount: 1580,
    currency: 'EUR',
    status: 'paid',
    seq: 7,
    cardId: CARD_ID,
  });
  t.deepEqual(await anonymous(m, 'POST', '/payment-api/payments', body), first, 'idempotent re-presentation');
  t.deepEqual(await present(m, fields), first, 'the same record re-signed is the same decision');
  const other = await present(m, paid(order, { seq: 8 }));
  t.is(other.status, 409);
  t.is(codeOf(other), 'order-not-open');
});

test('A record for another amount or currency is 422 record-mismatch and the order stays open', async (t) => {
  const m = await market();
  const order = await newOrder(m);
  for (const over of [{ amount: 1579 }, { currency: 'USD' }]) {
    const answer = await present(m, paid(order, over));
    t.is(answer.status, 422);
    t.is(codeOf(answer), 'record-mismatch');
  }
  t.is(m.orders.get(order.orderId)?.status, 'open');
});

test('A record naming another market is 422 record-mismatch', async (t) => {
  const m = await market();
  const order = await newOrder(m);
  const answer = await present(m, paid(order, { market: 'shop.example' }));
  t.is(answer.status, 422);
  t.is(codeOf(answer), 'record-mismatch');
});

test('A card certificate from a foreign issuer CA is 401 card-untrusted', async (t) => {
  const m = await market();
  const order = await newOrder(m);
  const foreign = await createCardChain('foreign issuer');
  const answer = await present(m, paid(order), foreign.card.privateKey, Buffer.from(foreign.card.certificate));
  t.is(answer.status, 401);
  t.is(codeOf(answer), 'card-untrusted');
});

test('A card certificate from the issuer CA that is not a CA with pathLength 0 is 401 card-untrusted', async (t) => {
  const m = await market();
  const order = await newOrder(m);
  const keys = generateP256KeyPair();
  const wide = await createCaCertificate({ subject: 'CN=wide card', subjectPublicKey: keys.publicKey, issuer: fixture.issuer, pathLength: 1 });
  const answer = await present(m, paid(order), keys.privateKey, wide);
  t.is(answer.status, 401);
  t.is(codeOf(answer), 'card-untrusted');
});

test('A record whose signature does not verify with the card certificate key is 401 record-signature-invalid', async (t) => {
  const m = await market();
  const order = await newOrder(m);
  const answer = await present(m, paid(order), generateP256KeyPair().privateKey);
  t.is(answer.status, 401);
  t.is(codeOf(answer), 'record-signature-invalid');
  t.is(m.orders.get(order.orderId)?.status, 'open');
});

test('A cancel authorization for a paid order is signed by the market signing key, whose certificate the card accepts for this market', async (t) => {
  const m = await market();
  const order = await newOrder(m);
  await present(m, paid(order));
  const answer = await askCancel(m, paid(order));
  t.is(answer.status, 200, JSON.stringify(answer.body));
  const [authorization, signature, certificate] = (['authorization', 'signature', 'certificate'] as const).map((k) =>
    Buffer.from(answer.body[k] as string, 'base64'),
  );
  const cert = new X509Certificate(certificate!);
  const marketCa = new X509Certificate(fixture.market.caCertificate);
  t.true(cert.checkIssued(marketCa) && cert.verify(marketCa.publicKey), 'issued by the market CA');
  t.is(cert.checkHost('localhost'), 'localhost');
  t.false(cert.ca);
  t.true(verify('sha256', authorization!, { key: cert.publicKey, dsaEncoding: 'der' }, signature!));
  t.deepEqual(parseCancelAuthorization(authorization!), { cardId: CARD_ID, seq: 7, orderId: order.orderId, amount: 1580, currency: 'EUR' });
  const card = checkMarketSigner(certificate!, [fixture.market.caCertificate], Math.floor(Date.now() / 1000), 'localhost');
  t.true(card.ok, 'the card accepts the signing certificate for market localhost');
  t.is((await anonymous(m, 'GET', `/payment-api/orders/${order.orderId}`)).body.status, 'cancelled');
  t.deepEqual(await askCancel(m, paid(order)), answer, 'asking again answers the same');
  t.is(codeOf(await present(m, paid(order))), 'order-not-open');
});

test('When a cancel request is not signed by the card that paid, the market signs nothing and the order stays paid', async (t) => {
  const m = await market();
  const order = await newOrder(m);
  await present(m, paid(order));
  const path = `/payment-api/orders/${order.orderId}/cancel`;
  const expectRefused = async (answer: JsonAnswer, status: number, code: string, what: string) => {
    t.is(answer.status, status, what);
    t.is(codeOf(answer), code, what);
    t.is(answer.body.authorization, undefined, what);
  };
  await expectRefused(await anonymous(m, 'POST', path, { cardId: CARD_ID, seq: 7 }), 400, 'bad-request', 'the old unauthenticated {cardId, seq}');
  await expectRefused(await anonymous(m, 'POST', path, { cancelRequest: cancelBody(paid(order)).cancelRequest }), 400, 'bad-request', 'no card certificate');
  await expectRefused(await askCancel(m, paid(order), generateP256KeyPair().privateKey), 401, 'request-signature-invalid', 'signed by another key');
  const otherKeys = generateP256KeyPair();
  const otherCard = await certifyCardKey({
    subject: 'CN=home card 0002',
    cardPublicKey: otherKeys.publicKey.export({ type: 'spki', format: 'der' }),
    issuer: fixture.issuer,
  });
  const claim = await askCancel(m, paid(order), otherKeys.privateKey, otherCard);
  await expectRefused(claim, 403, 'not-the-payer', "another trusted card claiming the payer's card id and seq");
  const rogue = (await createCardChain('rogue issuer')).card;
  await expectRefused(await askCancel(m, paid(order), rogue.privateKey, rogue.certificate), 401, 'card-untrusted', 'a card certificate from another issuer');
  await expectRefused(await askCancel(m, paid(order, { market: 'elsewhere.example' })), 422, 'request-mismatch', 'a request for another market');
  const otherOrder = await anonymous(m, 'POST', '/payment-api/orders/ord-other/cancel', cancelBody(paid(order)));
  await expectRefused(otherOrder, 422, 'request-mismatch', 'a request for another order');
  t.is(m.orders.get(order.orderId)?.status, 'paid');
});

test('When the market did not accept a decision, the card that made it gets a refund authorization, and the record is never accepted afterwards', async (t) => {
  const m = await market();
  const order = await newOrder(m);
  const refused = paid(order, { amount: order.amount + 1 });
  t.is(codeOf(await present(m, refused)), 'record-mismatch');
  const answer = await askCancel(m, refused);
  t.is(answer.status, 200, JSON.stringify(answer.body));
  const authorization = Buffer.from(answer.body.authorization as string, 'base64');
  t.deepEqual(
    parseCancelAuthorization(authorization),
    { cardId: CARD_ID, seq: 7, orderId: order.orderId, amount: order.amount + 1, currency: 'EUR' },
    "the record's own amount goes back",
  );
  t.deepEqual(await askCancel(m, refused), answer, 'asking again answers the same');
  t.is(m.orders.get(order.orderId)?.status, 'open', 'the order itself is untouched');
  const never = paid(order, { seq: 8 });
  t.is((await askCancel(m, never)).status, 200, 'a decision never presented is refunded too');
  t.is(codeOf(await present(m, never)), 'record-refunded', 'and then never pays the order');
  t.is(m.orders.get(order.orderId)?.status, 'open');
});

test('A market without a signer has no payment API, and a signer that is a CA or names another market is refused at start-up', async (t) => {
  const m = await market({ signer: undefined });
  t.is((await anonymous(m, 'GET', '/payment-api/orders/ord-x')).status, 404);
  const err = await t.throwsAsync(market({ signer: { certificate: fixture.market.caCertificate, privateKey: fixture.market.caKey } }), {
    instanceOf: SandboxMarketOptionsError,
  });
  t.deepEqual(err?.problems, ['signer.certificate must not be a CA', 'signer.certificate must name the market localhost as a dNSName']);
});

test('The market PKI keeps an owner-only signing key whose certificate is a digitalSignature-only leaf naming localhost', async (t) => {
  t.is((await stat(fixture.market.signingKeyPath)).mode & 0o777, 0o600);
  const cert = new x509.X509Certificate(fixture.market.signingCertificate);
  t.false(cert.getExtension(x509.BasicConstraintsExtension)!.ca);
  t.is(cert.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.digitalSignature);
  t.is(cert.getExtension(x509.ExtendedKeyUsageExtension), null);
  t.deepEqual(cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON(), [{ type: 'dns', value: 'localhost' }]);
  t.true(new X509Certificate(fixture.market.signingCertificate).checkPrivateKey(fixture.market.signingKey));
  t.notDeepEqual(
    createPublicKey(fixture.market.signingKey).export({ format: 'der', type: 'spki' }),
    createPublicKey(fixture.market.serverKey).export({ format: 'der', type: 'spki' }),
  );
});
