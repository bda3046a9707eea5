/**
 * The delegated handshake against an unmodified nginx (docs/ARCHITECTURE.md: "this
 * was checked against an unmodified nginx with ssl_verify_client on"): nginx
 * is registered as a market on the admin socket, the gateway authenticates to
 * it with the card, and the terminal resumes the session nginx issued.
 */
import { join } from 'node:path';
import { marketRequest } from '../../card-io/access-card/market-request.js';
import { derToPem } from '../../provisioning/pki/index.js';
import { needsBinary } from '../helpers/binaries.js';
import { serialWhen, startHousehold } from '../helpers/household/index.js';
import { startNginxMarket } from '../helpers/nginx.js';

const nginx = needsBinary('nginx');

/** RFC 2253 (nginx, most significant RDN first) and Node's order name the same RDNs. */
const rdns = (name: unknown) =>
  String(name ?? '')
    .split(/\s*,\s*/)
    .sort();

serialWhen(nginx)(
  "An unmodified nginx registered as a market sees the terminal resume the gateway's session: ssl_session_reused r, ssl_client_verify " +
    'SUCCESS, issued by the home card',
  async (t) => {
    const h = await startHousehold(t);
    const market = await startNginxMarket({
      serverCertPath: h.marketPki.serverCertPath,
      serverKeyPath: h.marketPki.serverKeyPath,
      clientCaPath: join(h.dataDir, 'pki', 'issuer-ca.pem'),
    });
    t.teardown(() => market.stop());
    const added = await h.admin('POST', '/admin/markets', {
      name: 'nginx',
      url: `https://localhost:${market.port}`,
      caPem: derToPem(h.marketPki.caCertificate),
    });
    t.deepEqual(added.market, { name: 'nginx', url: `https://localhost:${market.port}/` });

    const access = await h.accessCard();
    const session = await access.authorize('nginx');
    const response = await marketRequest(session, { method: 'GET', path: '/whoami' });
    t.is(response.status, 200, response.body.toString('utf8'));
    const who = JSON.parse(response.body.toString('utf8')) as Record<string, unknown>;
    t.is(who.sessionReused, 'r', 'nginx resumed the session');
    t.is(who.resumed, true);
    t.is(who.clientVerify, 'SUCCESS', `nginx error log:\n${await market.errorLog()}`);
    t.is(who.tlsVersion, 'TLSv1.3');
    t.deepEqual(rdns(who.clientIssuer), rdns(h.cardSubject()), 'the client certificate was issued by the home card');
    t.deepEqual(rdns(who.clientSubject), rdns(session.clientSubject));

    const catalogue = await marketRequest(session, { method: 'GET', path: '/catalog' });
    t.is(catalogue.status, 200);
  },
);
