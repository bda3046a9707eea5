import test, { type ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  startSandboxMarket,
  SANDBOX_CATALOGUE,
  SandboxMarketOptionsError,
  type SandboxMarket,
  type SandboxMarketOptions,
  type WhoAmI,
} from '../../deploy/sandbox/market/index.js';
import { derToPem } from '../../provisioning/pki/index.js';
import { needsBinary } from '../helpers/binaries.js';
import { capturingLogger } from '../helpers/link-probes.js';
import { createCardChain, createTlsFixture, type TlsFixture } from '../helpers/tls-fixtures.js';
import { connectToMarket, refusal, type MarketConnectOptions } from './market-client.js';
import { resumeWithSClient, ticketLifetimeHint } from './openssl-session.js';

const LEAF_SUBJECT = 'CN=homegate session,O=homegate household';

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
    ...extra,
  });
  markets.push(m);
  return m;
}

function to(m: SandboxMarket, extra: Partial<MarketConnectOptions> = {}): MarketConnectOptions {
  return { port: m.port, marketCaPem: derToPem(fixture.market.caCertificate), ...extra };
}

test('A client presenting the card-signed leaf and the card certificate gets the catalogue over TLS 1.3 with ALPN http/1.1', async (t) => {
  const m = await market();
  t.is(m.url, `https://127.0.0.1:${m.port}`);
  const conn = await connectToMarket(to(m, { client: fixture.client }));
  t.teardown(() => conn.close());
  t.is(conn.socket.getProtocol(), 'TLSv1.3');
  t.is(conn.socket.alpnProtocol, 'http/1.1');
  const { status, body } = await conn.getJson('/catalog');
  t.is(status, 200);
  t.deepEqual(body, JSON.parse(JSON.stringify(SANDBOX_CATALOGUE)));
  const who = (await conn.getJson('/whoami')).body as WhoAmI;
  t.is(who.clientSubject, LEAF_SUBJECT);
  t.is(who.chain.length, 3, 'leaf → card CA → issuer CA');
  t.regex(who.chain[1]!, /CN=home card 0001/);
  t.false(who.resumed);
  t.true(who.clientVerified);
  t.is(who.servername, 'localhost');
});

test('A terminal holding only the session resumes it without any client key and is seen as the card-chain leaf', async (t) => {
  const m = await market();
  const first = await connectToMarket(to(m, { client: fixture.client }));
  await first.getJson('/health');
  const session = await first.session(); // the ticket arrives after the handshake (RFC 8446 §4.6.1)
  first.close();
  t.truthy(session, 'the market sent a NewSessionTicket');
  const resumed = await connectToMarket(to(m, { session }));
  t.teardown(() => resumed.close());
  t.true(resumed.socket.isSessionReused());
  const who = (await resumed.getJson('/whoami')).body as WhoAmI;
  t.true(who.resumed);
  t.true(who.clientVerified);
  t.is(who.clientSubject, LEAF_SUBJECT);
  t.regex(who.clientIssuer!, /CN=home card 0001/);
  t.is((await resumed.getJson('/catalog')).status, 200);
});

/**
 * Refused: the client never gets an HTTP answer. A chain that does not
 * verify completes the client's side of the TLS 1.3 handshake and the market
 * then closes the connection without an alert, logging why.
 */
async function refused(t: ExecutionContext, client: MarketConnectOptions['client'], logger = capturingLogger()): Promise<Error> {
  const m = await market({ logger });
  const err = await refusal(to(m, { client }));
  t.pass();
  return err;
}

test('A client without a certificate gets in for the payment API, and every other route answers it 403 client-certificate-required', async (t) => {
  const m = await market();
  const conn = await connectToMarket(to(m));
  t.teardown(() => conn.close());
  for (const path of ['/catalog', '/whoami', '/health', '/nope']) {
    const { status, body } = await conn.getJson(path);
    t.is(status, 403, path);
    t.is((body as { error: { code: string } }).error.code, 'client-certificate-required', path);
  }
});

test('A client chain from a foreign issuer CA is refused and the refusal is logged with its reason', async (t) => {
  const foreign = await (await createCardChain('foreign issuer')).issueLeaf();
  const logger = capturingLogger();
  await refused(t, foreign, logger);
  const record = logger.records.find((r) => r.msg === 'market handshake refused');
  t.regex(String(record?.fields.code), /^UNABLE_TO_GET_ISSUER_CERT/);
});

test('An expired client leaf is refused', async (t) => {
  const hour = 3_600_000;
  const expired = await fixture.issueLeaf({ notBefore: new Date(Date.now() - 2 * hour), notAfter: new Date(Date.now() - hour) });
  await refused(t, expired);
});

test('A leaf presented without the card certificate is refused: the market trusts only the issuer', async (t) => {
  await refused(t, { ...fixture.client, chainPem: derToPem(fixture.client.leaf) });
});

test('A market with resumption disabled issues no ticket that resumes', async (t) => {
  const m = await market({ resumption: false });
  const first = await connectToMarket(to(m, { client: fixture.client }));
  await first.getJson('/health');
  const session = await first.session(1000);
  first.close();
  if (session === undefined) return t.pass('no ticket at all');
  // Node always sends TLS 1.3 tickets; these reference a server cache Node does not keep.
  const withCert = await connectToMarket(to(m, { client: fixture.client, session }));
  t.teardown(() => withCert.close());
  t.false(withCert.socket.isSessionReused(), 'the ticket was ignored: a full handshake took place');
  t.false(((await withCert.getJson('/whoami')).body as WhoAmI).resumed);
  const without = await connectToMarket(to(m, { session }));
  t.teardown(() => without.close());
  t.false(without.socket.isSessionReused());
  const anonymous = await without.getJson('/whoami');
  t.is(anonymous.status, 403, 'without the certificate the full handshake is anonymous');
  t.like(anonymous.body, { error: { code: 'client-certificate-required' } });
});

test("Markets sharing ticket keys resume each other's sessions", async (t) => {
  const ticketKeys = randomBytes(48);
  const a = await market({ ticketKeys });
  const b = await market({ ticketKeys });
  const first = await connectToMarket(to(a, { client: fixture.client }));
  await first.getJson('/health');
  const session = await first.session();
  first.close();
  const onB = await connectToMarket(to(b, { session }));
  t.teardown(() => onB.close());
  t.true(onB.socket.isSessionReused());
});

test('Unknown paths answer 404 JSON and /health answers ok', async (t) => {
  const m = await market();
  const conn = await connectToMarket(to(m, { client: fixture.client }));
  t.teardown(() => conn.close());
  t.deepEqual(await conn.getJson('/health'), { status: 200, body: { ok: true } });
  const missing = await conn.getJson('/nope');
  t.is(missing.status, 404);
  t.is((missing.body as { error: { code: string } }).error.code, 'not-found');
});

test('Invalid market options are reported all at once', async (t) => {
  const err = await t.throwsAsync(
    startSandboxMarket({ port: 70000, serverCert: 'nope', serverKey: 'nope', clientCa: [], sessionTimeoutSeconds: 0, ticketKeys: Buffer.alloc(3) }),
    { instanceOf: SandboxMarketOptionsError },
  );
  t.is(err?.problems.length, 6);
});

const openssl = needsBinary('openssl');

openssl.test('openssl s_client resumes the session Node received, and the ticket lifetime is the configured timeout', async (t) => {
  const m = await market({ sessionTimeoutSeconds: 120 });
  const first = await connectToMarket(to(m, { client: fixture.client }));
  await first.getJson('/health');
  const session = (await first.session())!;
  first.close();
  t.is(await ticketLifetimeHint(session), 120);
  const dir = await mkdtemp(join(tmpdir(), 'homegate-sess-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const result = await resumeWithSClient({ port: m.port, sessionDer: session, marketCaPath: fixture.market.caPath, dir });
  t.true(result.reused, result.output);
  t.like(result.body, { resumed: true, clientSubject: LEAF_SUBJECT });
});
