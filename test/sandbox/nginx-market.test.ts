import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SANDBOX_CATALOGUE } from '../../deploy/sandbox/market/catalogue.js';
import { derToPem } from '../../provisioning/pki/index.js';
import { needsBinary } from '../helpers/binaries.js';
import { startNginxMarket, type RunningNginx } from '../helpers/nginx.js';
import { createCardChain, createTlsFixture, type ClientCredentials, type TlsFixture } from '../helpers/tls-fixtures.js';
import { connectToMarket, type MarketConnectOptions } from './market-client.js';
import { resumeWithSClient, ticketLifetimeHint } from './openssl-session.js';

/** What the template's /whoami answers (nginx variables; subjects in RFC 2253 order). */
interface NginxWhoAmI {
  clientSubject: string;
  clientIssuer: string;
  clientVerify: string;
  sessionReused: 'r' | '.';
  resumed: boolean;
  tlsVersion: string;
  alpn: string;
  servername: string;
}

const nginx = needsBinary('nginx');
const SESSION_TIMEOUT_S = 600;

let fixture: TlsFixture | undefined;
let server: RunningNginx | undefined;

/** nginx starts with the first test that needs it (and never when nginx is missing). */
let started: Promise<{ fixture: TlsFixture; server: RunningNginx }> | undefined;
function market(): Promise<{ fixture: TlsFixture; server: RunningNginx }> {
  started ??= (async () => {
    fixture = await createTlsFixture();
    server = await startNginxMarket({
      serverCertPath: fixture.market.serverCertPath,
      serverKeyPath: fixture.market.serverKeyPath,
      clientCaPath: fixture.paths.issuerCa,
      sessionTimeoutSeconds: SESSION_TIMEOUT_S,
    });
    return { fixture, server };
  })();
  return started;
}

test.after.always(async () => {
  await server?.stop();
  await fixture?.cleanup();
});

async function to(extra: Partial<MarketConnectOptions> = {}): Promise<MarketConnectOptions> {
  const { fixture, server } = await market();
  return { port: server.port, marketCaPem: derToPem(fixture.market.caCertificate), ...extra };
}

/** First connection with the card chain: the whoami answer and the session ticket. */
async function fullHandshake(): Promise<{ who: NginxWhoAmI; session: Buffer | undefined }> {
  const { fixture } = await market();
  const conn = await connectToMarket(await to({ client: fixture.client }));
  try {
    const who = (await conn.getJson('/whoami')).body as NginxWhoAmI;
    return { who, session: await conn.session() };
  } finally {
    conn.close();
  }
}

nginx.test('nginx: a client presenting the card-signed leaf and the card certificate gets the catalogue over TLS 1.3 with ALPN http/1.1', async (t) => {
  const { fixture } = await market();
  const conn = await connectToMarket(await to({ client: fixture.client }));
  t.teardown(() => conn.close());
  t.is(conn.socket.getProtocol(), 'TLSv1.3');
  t.is(conn.socket.alpnProtocol, 'http/1.1');
  const { status, body } = await conn.getJson('/catalog');
  t.is(status, 200);
  t.deepEqual(body, JSON.parse(JSON.stringify(SANDBOX_CATALOGUE)));
  const who = (await conn.getJson('/whoami')).body as NginxWhoAmI;
  t.like(who, { clientVerify: 'SUCCESS', sessionReused: '.', resumed: false, tlsVersion: 'TLSv1.3', alpn: 'http/1.1', servername: 'localhost' });
  t.regex(who.clientSubject, /CN=homegate session/);
  t.regex(who.clientIssuer, /CN=home card 0001/);
});

nginx.test('nginx: a terminal holding only the session resumes it, and nginx sees $ssl_session_reused = r with the verified card-chain leaf', async (t) => {
  const { who: first, session } = await fullHandshake();
  t.truthy(session, 'nginx sent a NewSessionTicket after the handshake');
  const resumed = await connectToMarket(await to({ session }));
  t.teardown(() => resumed.close());
  t.true(resumed.socket.isSessionReused());
  const who = (await resumed.getJson('/whoami')).body as NginxWhoAmI;
  t.like(who, { sessionReused: 'r', resumed: true, clientVerify: 'SUCCESS', clientSubject: first.clientSubject });
  t.is((await resumed.getJson('/catalog')).status, 200);
});

/**
 * nginx completes the TLS handshake whatever the client certificate and
 * refuses at the HTTP layer (its codes 495/496, answered 403 by the template).
 */
async function refusedByNginx(client: ClientCredentials | undefined): Promise<{ status: number; verify: string; catalogue: boolean }> {
  const conn = await connectToMarket(await to({ client }));
  try {
    const { status, body } = await conn.getJson('/catalog');
    const error = (body as { error?: { code: string; verify: string } }).error;
    return { status, verify: error?.verify ?? '', catalogue: error === undefined };
  } finally {
    conn.close();
  }
}

nginx.test('nginx: a client without a certificate is refused', async (t) => {
  t.deepEqual(await refusedByNginx(undefined), { status: 403, verify: 'NONE', catalogue: false });
});

nginx.test('nginx: a client chain from a foreign issuer CA is refused', async (t) => {
  const foreign = await (await createCardChain('foreign issuer')).issueLeaf();
  const r = await refusedByNginx(foreign);
  t.like(r, { status: 403, catalogue: false });
  t.regex(r.verify, /^FAILED:unable to get (local )?issuer certificate/);
});

nginx.test('nginx: an expired client leaf is refused', async (t) => {
  const { fixture } = await market();
  const hour = 3_600_000;
  const expired = await fixture.issueLeaf({ notBefore: new Date(Date.now() - 2 * hour), notAfter: new Date(Date.now() - hour) });
  const r = await refusedByNginx(expired);
  t.like(r, { status: 403, catalogue: false });
  t.regex(r.verify, /^FAILED:certificate has expired/);
});

nginx.test('nginx: the ticket from a refused handshake resumes into a session that is still refused', async (t) => {
  const conn = await connectToMarket(await to());
  const refused = await conn.getJson('/catalog');
  const session = await conn.session();
  conn.close();
  t.is(refused.status, 403);
  if (session === undefined) return t.pass('no ticket for a refused client');
  const resumed = await connectToMarket(await to({ session }));
  t.teardown(() => resumed.close());
  t.like(await resumed.getJson('/catalog'), { status: 403, body: { error: { verify: 'NONE' } } });
});

nginx.test('nginx: unknown paths answer 404 JSON and /health answers ok', async (t) => {
  const { fixture } = await market();
  const conn = await connectToMarket(await to({ client: fixture.client }));
  t.teardown(() => conn.close());
  t.deepEqual(await conn.getJson('/health'), { status: 200, body: { ok: true } });
  t.like(await conn.getJson('/nope'), { status: 404, body: { error: { code: 'not-found' } } });
});

const sClient = nginx.available ? needsBinary('openssl') : nginx;

sClient.test('nginx: openssl s_client resumes the session Node received, and the ticket lifetime is ssl_session_timeout', async (t) => {
  const { fixture, server } = await market();
  const { session } = await fullHandshake();
  t.is(await ticketLifetimeHint(session!), SESSION_TIMEOUT_S);
  const dir = await mkdtemp(join(tmpdir(), 'homegate-sess-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const result = await resumeWithSClient({ port: server.port, sessionDer: session!, marketCaPath: fixture.market.caPath, dir });
  t.true(result.reused, result.output);
  t.like(result.body, { sessionReused: 'r', resumed: true, clientVerify: 'SUCCESS' });
});
