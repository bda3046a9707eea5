/**
 * The market handshake (gateway/proxy/ticketed-connection.ts) against a
 * hostile TLS market on a real socket: after handing out its session ticket
 * it ignores our close_notify and keeps trickling a byte every 200 ms. The
 * authorization completes, and the gateway still drops the connection: a
 * market cannot keep the gateway's sockets by never going quiet.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import test from 'ava';
import { delegatedHandshake } from '../../gateway/proxy/index.js';
import { derToPem } from '../../provisioning/pki/index.js';
import { fakeSigner, makeProxyPki, MARKET_HOST } from '../helpers/proxy-fixtures.js';

test('When a market keeps trickling bytes after the session ticket, the gateway still closes the connection', async (t) => {
  const pki = await makeProxyPki();
  const authenticated: tls.TLSSocket[] = [];
  const closed: Array<Promise<void>> = [];
  const server = tls.createServer(
    {
      key: pki.market.key.export({ type: 'pkcs8', format: 'pem' }),
      cert: pki.market.chain.map((c) => derToPem(c)).join(''),
      ca: derToPem(pki.issuerCa.certificate),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
      // Hostile: our FIN / close_notify does not end its side.
      allowHalfOpen: true,
    },
    (socket) => {
      socket.on('error', () => undefined);
      if (!socket.getPeerCertificate().raw) return; // the pre-flight, which offers no certificate
      authenticated.push(socket);
      closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
      const timer = setInterval(() => {
        if (!socket.destroyed && socket.writable) socket.write('x');
      }, 200);
      socket.on('close', () => clearInterval(timer));
    },
  );
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    for (const s of authenticated) s.destroy();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;

  const result = await delegatedHandshake({
    market: { name: 'shop', host: '127.0.0.1', port, servername: MARKET_HOST, anchorsDer: [pki.marketRoot.certificate] },
    signer: fakeSigner(pki),
  });
  t.true(result.session.length > 0, 'the authorization got its ticket');
  t.is(authenticated.length, 1);
  // A write error (EPIPE, reset) on the market's side is how it learns; 'close' follows either way.
  await closed[0];
  t.true(authenticated[0]!.destroyed, 'the gateway closed the trickling connection');
});
