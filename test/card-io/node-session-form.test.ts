/**
 * The handed session travels in OpenSSL's portable form and is put into this
 * Node's own form right before a resumption (card-io/base/tls/node-session-form.ts):
 * newer Node releases (CVE-2026-48934) give and take a session bound to its
 * host, older ones OpenSSL's DER, and neither resumes the other's. The
 * round trip is shown on whichever Node runs the tests; test/e2e/
 * session-across-node-versions.test.ts resumes across the two kinds.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import test from 'ava';
import { bindSession, nodeBindsSessions, portableSession, sessionForThisNode, sessionParts } from '../../card-io/base/tls/node-session-form.js';
import { loadOrCreateMarketPki } from '../../deploy/sandbox/market-pki.js';
import { derToPem } from '../../provisioning/pki/pem.js';

const DER = Buffer.from('3003020101', 'hex');

test('a bound session splits into its host and its DER, and binding the DER again gives the same bytes', (t) => {
  const bound = bindSession(DER, 'market.example');
  t.deepEqual(sessionParts(bound), { der: DER, host: 'market.example' });
  t.deepEqual(portableSession(bound), DER);
  t.deepEqual(bindSession(portableSession(bound), 'market.example'), bound);
});

test('a session in the portable form is left as it is', (t) => {
  t.deepEqual(sessionParts(DER), { der: DER, host: null });
  t.deepEqual(portableSession(DER), DER);
});

test('a bound session cut short anywhere is refused, not read as something else', (t) => {
  const bound = bindSession(DER, 'market.example');
  const magicLength = bound.indexOf(0x00, 1) + 1;
  for (const end of [magicLength, magicLength + 1, magicLength + 2, magicLength + 2 + 'market.example'.length]) {
    t.throws(() => sessionParts(bound.subarray(0, end)), { message: /cut short/ }, `cut at ${end}`);
  }
});

/** A TLS 1.3 server on loopback with the sandbox market's certificate; every connection gets one byte. */
async function server(t: import('ava').ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-session-form-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pki = await loadOrCreateMarketPki(dir);
  const s = tls.createServer(
    { cert: derToPem(pki.serverCertificate), key: pki.serverKey.export({ type: 'pkcs8', format: 'pem' }), minVersion: 'TLSv1.3' },
    (c) => c.end('.'),
  );
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  t.teardown(() => s.close());
  return { port: (s.address() as { port: number }).port, ca: derToPem(pki.caCertificate), servername: pki.serverName };
}

/** A connection: whether it resumed, and (for a full handshake) the session the server gave. */
function connect(o: { port: number; ca: string; servername: string }, session?: Buffer): Promise<{ reused: boolean; session?: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: o.port, servername: o.servername, ca: o.ca, minVersion: 'TLSv1.3', ...(session ? { session } : {}) });
    socket.on('data', () => undefined);
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      if (!socket.isSessionReused()) return; // wait for the session below
      resolve({ reused: true });
      socket.destroy();
    });
    socket.once('session', (s: Buffer) => {
      if (socket.isSessionReused()) return;
      resolve({ reused: false, session: s });
      socket.destroy();
    });
  });
}

test("the probe's answer is the form this Node gives its own sessions in", async (t) => {
  const s = await server(t);
  const { session } = await connect(s);
  const host = sessionParts(session!).host;
  t.is(await nodeBindsSessions(), host !== null);
  if (host !== null) t.is(host, s.servername);
});

test('a session made portable resumes on this Node once put into its form, as a handed session does', async (t) => {
  const s = await server(t);
  const first = await connect(s);
  t.false(first.reused);
  const handed = portableSession(first.session!);
  t.is(sessionParts(handed).host, null);
  const resumed = await connect(s, await sessionForThisNode(handed, s.servername));
  t.true(resumed.reused);
});
