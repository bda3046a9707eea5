import test from 'ava';
import tls from 'node:tls';
import { createProxyState, delegatedHandshake, fetchMarketChain, isProxyError, ProxyErrorCode, type MarketChainFetcher } from '../../gateway/proxy/index.js';
import { fakeSigner, makeProxyPki, newCa, startMarket, type ProxyPki } from '../helpers/proxy-fixtures.js';
import { resumeAndWhoami } from '../helpers/proxy-resume.js';

const pkiReady: Promise<ProxyPki> = makeProxyPki();

async function market(pki: ProxyPki, extra: { clientCa?: Buffer; sessionTimeout?: number } = {}) {
  return startMarket({ identity: pki.market, clientCa: pki.issuerCa.certificate, anchors: [pki.marketRoot.certificate], ...extra });
}

test('The delegated session resumes from a fresh client with no key, and the market sees the card-issued leaf', async (t) => {
  const pki = await pkiReady;
  const m = await market(pki, { sessionTimeout: 120 });
  t.teardown(() => m.close());
  const signer = fakeSigner(pki);

  const result = await delegatedHandshake({ market: m.target(), signer });

  t.true(result.cardSigned);
  t.is(result.alpn, 'http/1.1');
  t.is(result.servername, 'localhost');
  t.is(result.ticketLifetimeSeconds, 120);
  t.regex(result.clientSubject, /^CN=homegate session [0-9a-f]{8}$/);
  t.is(signer.verifyCalls, 1);
  t.is(signer.signCalls, 1);
  const resumed = await resumeAndWhoami(result.session, m.port);
  t.true(resumed.reused);
  t.deepEqual(resumed.body, { subject: result.clientSubject.slice(3), issuer: 'Home Card 0001', resumed: true });
});

test('The session never shows in a log line or in JSON of the result', async (t) => {
  const pki = await pkiReady;
  const m = await market(pki);
  t.teardown(() => m.close());
  const lines: string[] = [];
  const capture = (obj: unknown, msg?: string) => lines.push(JSON.stringify(obj) + (msg ?? ''));
  const logger = {
    trace: capture,
    debug: capture,
    info: capture,
    warn: capture,
    error: capture,
    isLevelEnabled: () => true,
    child: () => logger,
  };

  const result = await delegatedHandshake({ market: m.target(), signer: fakeSigner(pki), logger });

  const b64 = result.session.toString('base64');
  const hex = result.session.toString('hex');
  t.true(lines.length > 0);
  t.false(lines.some((l) => l.includes(b64) || l.includes(hex)));
  t.false(JSON.stringify(result).includes(b64));
  t.false('session' in JSON.parse(JSON.stringify(result)));
});

test('The market chain is fetched once and cached for the next authorization', async (t) => {
  const pki = await pkiReady;
  const m = await market(pki);
  t.teardown(() => m.close());
  let fetches = 0;
  const counting: MarketChainFetcher = (p) => {
    fetches++;
    return fetchMarketChain(p);
  };
  const state = createProxyState(counting);

  const first = await delegatedHandshake({ market: m.target(), signer: fakeSigner(pki), state });
  const second = await delegatedHandshake({ market: m.target(), signer: fakeSigner(pki), state });

  t.is(fetches, 1);
  t.is(m.connections(), 3); // one pre-flight, two authenticated handshakes
  t.true(first.cardSigned && second.cardSigned);
  t.true((await resumeAndWhoami(second.session, m.port)).reused);
});

test('With reuseSessionCertificate the second authorization does not call the card', async (t) => {
  const pki = await pkiReady;
  const m = await market(pki);
  t.teardown(() => m.close());
  const state = createProxyState();
  const signer = fakeSigner(pki);
  const options = { reuseSessionCertificate: true };

  const first = await delegatedHandshake({ market: m.target(), signer, state, options });
  const second = await delegatedHandshake({ market: m.target(), signer, state, options });

  t.true(first.cardSigned);
  t.false(second.cardSigned);
  t.is(signer.verifyCalls, 1);
  t.is(signer.signCalls, 1);
  t.is(second.clientSubject, first.clientSubject);
  t.true((await resumeAndWhoami(second.session, m.port)).reused);
});

test('Without reuseSessionCertificate every authorization is signed by the card', async (t) => {
  const pki = await pkiReady;
  const m = await market(pki);
  t.teardown(() => m.close());
  const state = createProxyState();
  const signer = fakeSigner(pki);

  await delegatedHandshake({ market: m.target(), signer, state });
  const second = await delegatedHandshake({ market: m.target(), signer, state });

  t.true(second.cardSigned);
  t.is(signer.signCalls, 2);
});

test('The session leaf lives as long as leafLifetimeSeconds says', async (t) => {
  const pki = await pkiReady;
  const m = await market(pki);
  t.teardown(() => m.close());
  const now = Math.floor(Date.now() / 1000) * 1000;

  const result = await delegatedHandshake({ market: m.target(), signer: fakeSigner(pki), clock: () => now, options: { leafLifetimeSeconds: 120 } });

  t.is(Date.parse(result.certificateExpiresAt) - now, 120_000);
});

test('A market that does not trust the issuer CA refuses the client certificate', async (t) => {
  const pki = await pkiReady;
  const stranger = await newCa('CN=Some Other Issuer');
  const m = await market(pki, { clientCa: stranger.certificate });
  t.teardown(() => m.close());

  const error = await t.throwsAsync(delegatedHandshake({ market: m.target(), signer: fakeSigner(pki) }));

  t.true(isProxyError(error, ProxyErrorCode.MarketRefusedClientCertificate));
  t.is(isProxyError(error) ? error.status : 0, 502);
});

test('With the gateway clock 20 minutes behind, the leaf is expired for the market, which refuses it', async (t) => {
  const pki = await pkiReady;
  const m = await market(pki); // its certificates were issued a day ago: valid at the gateway's time too
  t.teardown(() => m.close());
  const signer = fakeSigner(pki);

  const error = await t.throwsAsync(delegatedHandshake({ market: m.target(), signer, clock: () => Date.now() - 20 * 60_000 }));

  t.is(isProxyError(error) ? error.code : String(error), ProxyErrorCode.MarketRefusedClientCertificate);
  t.is(signer.signCalls, 1); // the card signed: the leaf was fine for the card's time
});

test('When the market presents another leaf than the cached one, the handshake fails and the cache is refreshed once', async (t) => {
  const pki = await pkiReady;
  const m = await market(pki);
  t.teardown(() => m.close());
  let fetches = 0;
  const state = createProxyState(async (p) => {
    fetches++;
    const chain = await fetchMarketChain(p);
    // The first fetch pretends the market had another leaf when the chain was cached.
    return fetches === 1 ? { ...chain, leafFingerprint: Buffer.alloc(32, 0xee) } : chain;
  });

  const error = await t.throwsAsync(delegatedHandshake({ market: m.target(), signer: fakeSigner(pki), state }));
  t.true(isProxyError(error, ProxyErrorCode.MarketUntrusted));
  t.is(isProxyError(error) ? error.context.reason : undefined, 'market-certificate-changed');
  t.is(fetches, 2);

  const retry = await delegatedHandshake({ market: m.target(), signer: fakeSigner(pki), state });
  t.true(retry.cardSigned);
  t.is(fetches, 2);
});

/** Counts getPeerCertificate(true) calls on every TLS socket of this process until the test ends (serial tests only). */
function countDetailedPeerCertificates(t: { teardown(fn: () => void): void }): () => number {
  const original = tls.TLSSocket.prototype.getPeerCertificate;
  let calls = 0;
  tls.TLSSocket.prototype.getPeerCertificate = function (this: tls.TLSSocket, detailed?: boolean) {
    if (detailed === true) calls++;
    return original.call(this, detailed);
  } as typeof original;
  t.teardown(() => {
    tls.TLSSocket.prototype.getPeerCertificate = original;
  });
  return () => calls;
}

test.serial(
  'The host name is checked by Node once, in the pre-flight; the authenticated handshakes pin that leaf without building the detailed peer certificate (a JS object of the whole chain)',
  async (t) => {
    const pki = await pkiReady;
    const m = await market(pki);
    t.teardown(() => m.close());
    const state = createProxyState();
    const detailedCalls = countDetailedPeerCertificates(t);

    for (let i = 0; i < 4; i++) t.true((await delegatedHandshake({ market: m.target(), signer: fakeSigner(pki), state })).cardSigned);

    t.is(detailedCalls(), 2, "the pre-flight's two (Node's host name check, then its chain), none per authorization");
  },
);

test.serial(
  "A chain whose leaf's host name no pre-flight checked (another fetcher's) is checked by Node on every authenticated handshake, as before",
  async (t) => {
    const pki = await pkiReady;
    const m = await market(pki);
    t.teardown(() => m.close());
    const state = createProxyState(async (p) => {
      const { hostNameCheckedFor, ...chain } = await fetchMarketChain(p);
      t.is(hostNameCheckedFor, 'localhost');
      return chain;
    });
    const detailedCalls = countDetailedPeerCertificates(t);

    for (let i = 0; i < 3; i++) t.true((await delegatedHandshake({ market: m.target(), signer: fakeSigner(pki), state })).cardSigned);

    t.is(detailedCalls(), 2 + 3);
  },
);
