/**
 * Markets that cannot be served, end to end: each failure reaches the
 * terminal as the terminal API's 502 code (API.md), with a real card, a real
 * gateway and a real market process or server.
 */
import test from 'ava';
import { signRequest } from '../../card-io/access-card/request-signer.js';
import { startSandboxMarket } from '../../deploy/sandbox/market/index.js';
import { createRootCa, createServerCertificate, derToPem, generateP256KeyPair } from '../../provisioning/pki/index.js';
import { needsBinary } from '../helpers/binaries.js';
import { DEMO_PINS, MARKET, asTerminal, errorOf, gatewayRequest, refusalOf, serialWhen, startHousehold } from '../helpers/household/index.js';
import { startOpensslMarketWithoutTickets } from '../helpers/proxy-fixtures.js';

const openssl = needsBinary('openssl');

test.serial('A market whose server certificate comes from another CA than its registered anchor is refused as market-untrusted', async (t) => {
  const h = await startHousehold(t);
  const rogueKey = generateP256KeyPair().privateKey;
  const rogueCa = { privateKey: rogueKey, certificate: await createRootCa({ subject: 'CN=Rogue market CA', privateKey: rogueKey }) };
  const serverKeys = generateP256KeyPair();
  const serverCert = await createServerCertificate({
    subject: 'CN=localhost',
    subjectPublicKey: serverKeys.publicKey,
    issuer: rogueCa,
    dnsNames: ['localhost'],
  });
  const rogue = await startSandboxMarket({ port: 0, serverCert, serverKey: serverKeys.privateKey, clientCa: h.issuerCertificate });
  t.teardown(() => rogue.stop());
  // Registered with the household's market CA as anchor (which the card holds too).
  await h.gateway.registry.addMarket({ name: 'rogue', url: `https://localhost:${rogue.port}`, anchorPem: derToPem(h.marketPki.caCertificate) });
  const access = await h.accessCard();
  await access.unlock();

  t.like(await refusalOf(access.authorize('rogue')), { status: 502, code: 'market-untrusted' });
  t.true(await access.isUnlocked());
});

serialWhen(openssl)('A market that issues no session tickets (openssl s_server -num_tickets 0) is refused as market-no-ticket', async (t) => {
  const h = await startHousehold(t, { proxy: { ticketTimeoutMs: 500 } });
  const market = await startOpensslMarketWithoutTickets({
    // s_server wants a non-empty -cert_chain file: the market CA follows the leaf (a root in the chain is harmless).
    identity: { key: h.marketPki.serverKey, chain: [h.marketPki.serverCertificate, h.marketPki.caCertificate] },
    clientCa: h.issuerCertificate,
    anchors: [h.marketPki.caCertificate],
  });
  t.teardown(() => market.close());
  await h.gateway.registry.addMarket({ name: 'no-tickets', url: `https://localhost:${market.port}`, anchorPem: derToPem(h.marketPki.caCertificate) });
  const access = await h.accessCard();
  await access.unlock();

  t.like(await refusalOf(access.authorize('no-tickets')), { status: 502, code: 'market-no-ticket' });
});

test.serial(
  'A gateway whose clock is 20 minutes behind has the card sign a leaf that has already expired, which the market refuses: ' +
    'market-refused-client-certificate',
  async (t) => {
    const behind = () => Date.now() - 20 * 60_000;
    const h = await startHousehold(t, { clock: behind });
    const demo = await h.loadProfile();
    // The terminal's signatures must fall within the gateway's own (wrong) clock window.
    const post = async (path: string, body: Record<string, unknown>) =>
      gatewayRequest({
        ...asTerminal(demo),
        method: 'POST',
        path,
        body: await signRequest({ terminalId: demo.terminalId, privateKey: demo.key, method: 'POST', path, body, clock: behind }),
      });

    const unlocked = await post('/v1/card/unlock', { pin1: DEMO_PINS.pin1 });
    t.is(unlocked.status, 200, JSON.stringify(unlocked.json));
    const refused = await post('/v1/authorize', { market: MARKET, pin2: DEMO_PINS.pin2 });
    t.is(refused.status, 502);
    t.is(errorOf(refused).code, 'market-refused-client-certificate');
    t.true(h.relay.connections() >= 2, 'the gateway reached the market: pre-flight and the authenticated handshake');
  },
);
