/**
 * The access card resumes handed sessions with one TLS context per market
 * anchor, kept for the profile's life (card-io/access-card/market-contexts.ts),
 * against a real TLS 1.3 market: the sessions come from real delegated
 * handshakes (the gateway's proxy with the fake card signer).
 */
import test from 'ava';
import { MarketContexts } from '../../card-io/access-card/market-contexts.js';
import { resumeMarketConnection } from '../../card-io/access-card/market-request.js';
import type { HandedSession } from '../../card-io/access-card/handed-session.js';
import { delegatedHandshake } from '../../gateway/proxy/index.js';
import { derToPem } from '../../provisioning/pki/pem.js';
import { fakeSigner, makeProxyPki, MARKET_HOST, newCa, startMarket } from '../helpers/proxy-fixtures.js';

test('One context per market anchor: the same anchor gets the same context, another anchor its own', async (t) => {
  const a = derToPem((await newCa('CN=Market A root')).certificate);
  const b = derToPem((await newCa('CN=Market B root')).certificate);
  const contexts = new MarketContexts();
  t.is(contexts.get(a), contexts.get(a));
  t.not(contexts.get(a), contexts.get(b));
});

test('Two handed sessions resume at the market through the one kept context, each seen as resumed', async (t) => {
  const pki = await makeProxyPki();
  const m = await startMarket({ identity: pki.market, clientCa: pki.issuerCa.certificate, anchors: [pki.marketRoot.certificate] });
  t.teardown(() => m.close());
  const contexts = new MarketContexts();
  const marketCaPem = derToPem(pki.marketRoot.certificate);
  for (let i = 0; i < 2; i++) {
    const d = await delegatedHandshake({ market: m.target(), signer: fakeSigner(pki) });
    const handed: HandedSession = {
      market: d.market,
      host: d.host,
      port: d.port,
      servername: MARKET_HOST,
      alpn: d.alpn,
      session: d.session,
      ticketLifetimeSeconds: d.ticketLifetimeSeconds,
      clientSubject: d.clientSubject,
      certificateExpiresAt: d.certificateExpiresAt,
      marketCaPem,
    };
    const socket = await resumeMarketConnection(handed, 5000, contexts);
    t.true(socket.isSessionReused());
    socket.destroy();
  }
  t.is(contexts.get(marketCaPem), contexts.get(marketCaPem));
});
