import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { startSandboxMarket } from '../../deploy/sandbox/market/index.js';
import { loadOrCreateMarketPki, MARKET_SERVER_NAME } from '../../deploy/sandbox/market-pki.js';
import { createServerCertificate, derToPem, generateP256KeyPair } from '../../provisioning/pki/index.js';
import { x509 } from '../../provisioning/pki/x509-provider.js';
import { createTlsFixture } from '../helpers/tls-fixtures.js';

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-market-pki-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

test('The market PKI is created on first use with owner-only keys, and reused afterwards', async (t) => {
  const dir = await tempDir(t);
  const first = await loadOrCreateMarketPki(dir);
  t.is(first.caPath, join(dir, 'market-ca.pem'));
  t.is(await mode(join(dir, 'market-ca.key')), 0o600);
  t.is(await mode(first.serverKeyPath), 0o600);
  const again = await loadOrCreateMarketPki(dir);
  t.deepEqual(again.caCertificate, first.caCertificate);
  t.deepEqual(again.serverCertificate, first.serverCertificate);
});

test('The market server certificate names localhost and 127.0.0.1 and chains to the market CA', async (t) => {
  const pki = await loadOrCreateMarketPki(await tempDir(t));
  const cert = new X509Certificate(pki.serverCertificate);
  const ca = new X509Certificate(pki.caCertificate);
  t.is(pki.serverName, MARKET_SERVER_NAME);
  t.is(cert.checkHost('localhost'), 'localhost');
  t.is(cert.checkIP('127.0.0.1'), '127.0.0.1');
  t.true(cert.checkIssued(ca) && cert.verify(ca.publicKey));
  t.true(cert.checkPrivateKey(pki.serverKey));
  const san = new x509.X509Certificate(pki.serverCertificate).getExtension(x509.SubjectAlternativeNameExtension)!;
  t.deepEqual(san.names.toJSON(), [
    { type: 'dns', value: 'localhost' },
    { type: 'ip', value: '127.0.0.1' },
  ]);
});

test('A server certificate close to its end is reissued under the same CA', async (t) => {
  const dir = await tempDir(t);
  const first = await loadOrCreateMarketPki(dir);
  const later = new Date(Date.now() + 340 * 86_400_000);
  const renewed = await loadOrCreateMarketPki(dir, { now: later });
  t.deepEqual(renewed.caCertificate, first.caCertificate);
  t.notDeepEqual(renewed.serverCertificate, first.serverCertificate);
  t.true(new Date(new X509Certificate(renewed.serverCertificate).validTo) > new Date(later.getTime() + 300 * 86_400_000));
});

test('A client connecting to 127.0.0.1 without SNI verifies the market by its IP address SAN', async (t) => {
  const f = await createTlsFixture();
  t.teardown(() => f.cleanup());
  const m = await startSandboxMarket({ port: 0, serverCert: f.market.serverCertificate, serverKey: f.market.serverKey, clientCa: f.issuer.certificate });
  t.teardown(() => m.stop());
  const socket = tls.connect({ host: '127.0.0.1', port: m.port, ca: derToPem(f.market.caCertificate), cert: f.client.chainPem, key: f.client.keyPem });
  t.teardown(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  t.true(socket.authorized);
});

test('An iPAddress SAN must be an IPv4 or IPv6 address, and IPv6 ones are encoded too', async (t) => {
  const pki = await loadOrCreateMarketPki(await tempDir(t));
  const issuer = { certificate: pki.caCertificate, privateKey: pki.caKey };
  const { publicKey } = generateP256KeyPair();
  const base = { subject: 'CN=localhost', subjectPublicKey: publicKey, issuer, dnsNames: ['localhost'] };
  await t.throwsAsync(createServerCertificate({ ...base, ipAddresses: ['localhost'] }), { message: /IPv4 or IPv6/ });
  const v6 = await createServerCertificate({ ...base, ipAddresses: ['::1'] });
  t.is(new X509Certificate(v6).checkIP('::1'), '::1');
});
