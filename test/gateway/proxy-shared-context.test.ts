/**
 * One-shot credentials (reuseSessionCertificate off) share one TLS client
 * context per market (gateway/proxy/client-context.ts): each credential is
 * loaded into it right before its connection. These tests hold that a
 * connection keeps the credential it was made with, however authorizations
 * interleave, and that the context is in fact shared.
 */
import test from 'ava';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { derToPem } from '../../provisioning/pki/pem.js';
import { SharedMarketContexts } from '../../gateway/proxy/client-context.js';
import { createProxyState, delegatedHandshake } from '../../gateway/proxy/index.js';
import { fakeSigner, makeProxyPki, MARKET_HOST, startMarket, type ProxyPki } from '../helpers/proxy-fixtures.js';
import { resumeAndWhoami } from '../helpers/proxy-resume.js';

const pkiReady: Promise<ProxyPki> = makeProxyPki();

/** The subject the market saw on the connection the session comes from (its /whoami on a resumption). */
async function subjectSeenByMarket(session: Buffer, port: number): Promise<string | null> {
  return (await resumeAndWhoami(session, port)).body.subject;
}

test('eight concurrent one-shot authorizations to one market each reach it with their own card-signed leaf', async (t) => {
  const pki = await pkiReady;
  const m = await startMarket({ identity: pki.market, clientCa: pki.issuerCa.certificate, anchors: [pki.marketRoot.certificate] });
  t.teardown(() => m.close());
  // By name, as markets are registered: each connection waits for the address lookup before it
  // connects, while the next credentials are loaded into the same context.
  const market = m.target({ host: 'localhost' });
  const state = createProxyState();

  // A signer each: the fake card, like the card, signs only right after its own chain verification.
  const results = await Promise.all(
    Array.from({ length: 8 }, () => delegatedHandshake({ market, signer: fakeSigner(pki), state, options: { reuseSessionCertificate: false } })),
  );

  t.is(new Set(results.map((r) => r.clientSubject)).size, 8);
  for (const r of results) t.is(await subjectSeenByMarket(r.session, m.port), r.clientSubject.slice(3));
});

test("a market's one-shot credentials are loaded into one context, and a connection made before the next load keeps its certificate", async (t) => {
  const pki = await pkiReady;
  const m = await startMarket({ identity: pki.market, clientCa: pki.issuerCa.certificate, anchors: [pki.marketRoot.certificate] });
  t.teardown(() => m.close());
  const market = m.target();
  const contexts = new SharedMarketContexts();
  const credential = {
    market,
    keyPem: pki.cardKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    leafPem: derToPem(pki.cardCertificate),
    cardCertificatePem: derToPem(pki.issuerCa.certificate),
  };

  const first = contexts.load(credential);
  const socket = tls.connect({ host: '127.0.0.1', port: m.port, servername: MARKET_HOST, secureContext: first });
  t.teardown(() => socket.destroy());
  // Read when the handshake is done on our side: the market may refuse this certificate afterwards and close.
  socket.on('error', () => undefined);
  const presented = once(socket, 'secureConnect').then(() => socket.getX509Certificate()?.raw);
  // The next credential (another key, another certificate) goes into the same context at once.
  const other = await makeProxyPki();
  const second = contexts.load({
    ...credential,
    keyPem: other.cardKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    leafPem: derToPem(other.cardCertificate),
  });
  t.is(second, first);
  // Another market (target), or another card certificate: a context of their own.
  t.not(contexts.load({ ...credential, market: m.target() }), first);
  t.not(contexts.load({ ...credential, cardCertificatePem: derToPem(other.issuerCa.certificate) }), first);

  // What this end presented is the certificate loaded when the connection was made.
  t.deepEqual(await presented, pki.cardCertificate);
});

/** A TCP relay in front of `port` that counts what each client connection sends. */
async function countingRelay(port: number): Promise<{ port: number; sent: number[]; close(): void }> {
  const sent: number[] = [];
  const server = net.createServer((client) => {
    const i = sent.push(0) - 1;
    const upstream = net.connect(port, '127.0.0.1');
    client.on('data', (d: Buffer) => {
      sent[i]! += d.length;
      upstream.write(d);
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, sent, close: () => server.close() };
}

test('the chain a one-shot credential presents stays its leaf and the card certificate, however many came before', async (t) => {
  const pki = await pkiReady;
  const m = await startMarket({ identity: pki.market, clientCa: pki.issuerCa.certificate, anchors: [pki.marketRoot.certificate] });
  t.teardown(() => m.close());
  const relay = await countingRelay(m.port);
  t.teardown(() => relay.close());
  const market = m.target({ port: relay.port });
  const state = createProxyState();
  for (let i = 0; i < 12; i++) {
    const r = await delegatedHandshake({ market, signer: fakeSigner(pki), state, options: { reuseSessionCertificate: false } });
    t.is(await subjectSeenByMarket(r.session, m.port), r.clientSubject.slice(3));
  }
  // Connection 0 is the pre-flight for the market's chain; 1..12 the authorizations. A certificate is
  // about 450 bytes: a chain that grew by one per credential would show here.
  const authorizations = relay.sent.slice(1);
  t.is(authorizations.length, 12);
  t.true(Math.max(...authorizations) - Math.min(...authorizations) < 64, JSON.stringify(authorizations));
});
