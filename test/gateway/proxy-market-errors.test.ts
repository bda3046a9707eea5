import test from 'ava';
import { delegatedHandshake, isProxyError, ProxyErrorCode, type MarketTarget } from '../../gateway/proxy/index.js';
import { needsBinary } from '../helpers/binaries.js';
import {
  closedPort,
  expiredWindow,
  fakeSigner,
  makeProxyPki,
  newCa,
  serverIdentity,
  startMarket,
  startOpensslMarketWithoutTickets,
  type ProxyPki,
  type ServerIdentity,
} from '../helpers/proxy-fixtures.js';

const pkiReady: Promise<ProxyPki> = makeProxyPki();
const openssl = needsBinary('openssl');

async function marketWith(pki: ProxyPki, identity: ServerIdentity) {
  return startMarket({ identity, clientCa: pki.issuerCa.certificate, anchors: [pki.marketRoot.certificate] });
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return 'resolved';
  } catch (e) {
    return isProxyError(e) ? e.code : `not a ProxyError: ${String(e)}`;
  }
}

test('A market on a closed port is market-unreachable', async (t) => {
  const pki = await pkiReady;
  const target: MarketTarget = { name: 'gone', host: '127.0.0.1', port: await closedPort(), servername: 'localhost', anchorsDer: [pki.marketRoot.certificate] };
  const signer = fakeSigner(pki);

  t.is(await codeOf(delegatedHandshake({ market: target, signer })), ProxyErrorCode.MarketUnreachable);
  t.is(signer.verifyCalls, 0);
});

test('A market whose certificate comes from an untrusted CA is market-untrusted, before the card is asked', async (t) => {
  const pki = await pkiReady;
  const rogue = await newCa('CN=Rogue CA');
  const m = await marketWith(pki, await serverIdentity(rogue, null));
  t.teardown(() => m.close());
  const signer = fakeSigner(pki);

  t.is(await codeOf(delegatedHandshake({ market: m.target(), signer })), ProxyErrorCode.MarketUntrusted);
  t.is(signer.verifyCalls, 0);
});

test('A market with an expired certificate is market-certificate-expired', async (t) => {
  const pki = await pkiReady;
  const m = await marketWith(pki, await serverIdentity(pki.marketIntermediate, pki.marketIntermediate.certificate, expiredWindow()));
  t.teardown(() => m.close());

  t.is(await codeOf(delegatedHandshake({ market: m.target(), signer: fakeSigner(pki) })), ProxyErrorCode.MarketCertificateExpired);
});

test('A market whose certificate names another host is market-wrong-host', async (t) => {
  const pki = await pkiReady;
  const m = await marketWith(pki, await serverIdentity(pki.marketIntermediate, pki.marketIntermediate.certificate, { dnsNames: ['other.example'] }));
  t.teardown(() => m.close());

  t.is(await codeOf(delegatedHandshake({ market: m.target(), signer: fakeSigner(pki) })), ProxyErrorCode.MarketWrongHost);
});

test('When the card rejects a chain the gateway trusts, the card decides: market-untrusted', async (t) => {
  const pki = await pkiReady;
  const m = await marketWith(pki, pki.market);
  t.teardown(() => m.close());
  const cardWithoutAnchor = fakeSigner({ ...pki, marketRoot: await newCa('CN=Not This Root') });

  t.is(await codeOf(delegatedHandshake({ market: m.target(), signer: cardWithoutAnchor })), ProxyErrorCode.MarketUntrusted);
  t.is(cardWithoutAnchor.signCalls, 0);
});

test('Invalid options are reported all at once, as internal', async (t) => {
  const pki = await pkiReady;
  const target: MarketTarget = { name: 'x', host: '127.0.0.1', port: 1, servername: 'localhost', anchorsDer: [pki.marketRoot.certificate] };
  const error = await t.throwsAsync(delegatedHandshake({ market: target, signer: fakeSigner(pki), options: { leafLifetimeSeconds: 901, ticketTimeoutMs: 5 } }));
  t.true(isProxyError(error, ProxyErrorCode.Internal));
  t.deepEqual(isProxyError(error) ? (error.context.problems as string[]).length : 0, 2);
  t.is(isProxyError(error) ? error.status : 0, 500);
});

openssl.test('A market that issues no session tickets is market-no-ticket', async (t) => {
  const pki = await pkiReady;
  const m = await startOpensslMarketWithoutTickets({ identity: pki.market, clientCa: pki.issuerCa.certificate, anchors: [pki.marketRoot.certificate] });
  t.teardown(() => m.close());
  const signer = fakeSigner(pki);

  const started = Date.now();
  t.is(await codeOf(delegatedHandshake({ market: m.target(), signer, options: { ticketTimeoutMs: 400 } })), ProxyErrorCode.MarketNoTicket);
  t.true(Date.now() - started >= 400);
  t.is(signer.signCalls, 1);
});
