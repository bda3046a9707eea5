import test from 'ava';
import { spawnSync } from 'node:child_process';
import { sign, X509Certificate } from 'node:crypto';
import { parseCertificate } from '../../card-io/emulator/certificate-parse.js';
import { checkSessionCertificate } from '../../card-io/emulator/session-certificate-rules.js';
import {
  assembleCertificate,
  buildSessionTbs,
  cardSubjectDer,
  delegatedHandshake,
  sessionDnsName,
  sslSessionToPem,
  ticketLifetimeHint,
} from '../../gateway/proxy/index.js';
import { encodeTlv } from '../../gateway/proxy/der.js';
import { generateP256KeyPair } from '../../provisioning/pki/index.js';
import { needsBinary } from '../helpers/binaries.js';
import { fakeSigner, makeProxyPki, startMarket, type ProxyPki } from '../helpers/proxy-fixtures.js';

const pkiReady: Promise<ProxyPki> = makeProxyPki();
const openssl = needsBinary('openssl');
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

async function signedLeaf(lifetimeSeconds = 300) {
  const pki = await pkiReady;
  const { publicKey } = generateP256KeyPair();
  const tbs = buildSessionTbs({ cardCertificate: pki.cardCertificate, subjectPublicKey: publicKey, dnsName: 'localhost', now: NOW, lifetimeSeconds });
  const der = assembleCertificate(tbs.der, sign('sha256', tbs.der, pki.cardKey));
  return { pki, tbs, der, cert: new X509Certificate(der) };
}

test('The assembled session certificate verifies with the card public key and chains to the card certificate', async (t) => {
  const { pki, cert } = await signedLeaf();
  const card = new X509Certificate(pki.cardCertificate);
  t.true(cert.verify(card.publicKey));
  t.true(cert.checkIssued(card));
  t.false(cert.ca);
  t.is(cert.subjectAltName, 'DNS:localhost');
  t.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']); // Node lists the extended key usage here: clientAuth only
  t.is(cert.issuer, card.subject);
});

test('The issuer of the TBS is the card certificate subject byte for byte', async (t) => {
  const { pki, der } = await signedLeaf();
  t.deepEqual(parseCertificate(der)!.issuer, cardSubjectDer(pki.cardCertificate));
  t.deepEqual(parseCertificate(pki.cardCertificate)!.subject, cardSubjectDer(pki.cardCertificate));
});

test('The TBS passes the card session-certificate rules at the time given', async (t) => {
  const { pki, tbs } = await signedLeaf();
  const cardSubject = cardSubjectDer(pki.cardCertificate);
  t.is(checkSessionCertificate(tbs.der, { cardSubject, market: { dnsNames: ['localhost'], time: NOW / 1000 } }), null);
  t.not(checkSessionCertificate(tbs.der, { cardSubject, market: { dnsNames: ['shop.example'], time: NOW / 1000 } }), null);
});

test('Validity starts 60 s before now and ends after the lifetime; at 900 s it does not start early', async (t) => {
  const short = await signedLeaf(300);
  t.is(short.tbs.notBefore.getTime(), NOW - 60_000);
  t.is(short.tbs.notAfter.getTime(), NOW + 300_000);
  t.is(Date.parse(short.cert.validTo), NOW + 300_000);
  const longest = await signedLeaf(900);
  t.is(longest.tbs.notBefore.getTime(), NOW);
  t.is(longest.tbs.notAfter.getTime() - longest.tbs.notBefore.getTime(), 900_000);
  t.throws(() =>
    buildSessionTbs({
      cardCertificate: longest.pki.cardCertificate,
      subjectPublicKey: generateP256KeyPair().publicKey,
      dnsName: 'a',
      now: NOW,
      lifetimeSeconds: 901,
    }),
  );
});

test('The leaf names the servername, or the market wildcard that covers it', (t) => {
  t.is(sessionDnsName('shop.example', ['shop.example', 'www.shop.example']), 'shop.example');
  t.is(sessionDnsName('Pay.Shop.example', ['*.shop.example']), '*.shop.example');
  t.is(sessionDnsName('shop.example', ['other.example']), 'shop.example');
});

test('The ticket lifetime hint is read from context tag [9], and is null when absent or malformed', (t) => {
  const int = (n: number) => encodeTlv(0x02, Buffer.from([n]));
  const withHint = encodeTlv(0x30, int(1), int(2), encodeTlv(0xa1, int(5)), encodeTlv(0xa9, encodeTlv(0x02, Buffer.from([0x00, 0x93, 0xa8]))));
  t.is(ticketLifetimeHint(withHint), 0x93a8);
  t.is(ticketLifetimeHint(encodeTlv(0x30, int(1), int(2))), null);
  t.is(ticketLifetimeHint(Buffer.from([0x30, 0x05, 0x02])), null);
  t.is(ticketLifetimeHint(Buffer.alloc(0)), null);
  t.is(ticketLifetimeHint(withHint.subarray(0, withHint.length - 1)), null);
});

test('The session PEM uses the SSL SESSION PARAMETERS label', (t) => {
  const pem = sslSessionToPem(Buffer.from([0x30, 0x00]));
  t.true(pem.startsWith('-----BEGIN SSL SESSION PARAMETERS-----\n'));
  t.true(pem.trimEnd().endsWith('-----END SSL SESSION PARAMETERS-----'));
});

openssl.test('openssl accepts the session PEM and the session certificate', async (t) => {
  const pki = await pkiReady;
  const m = await startMarket({ identity: pki.market, clientCa: pki.issuerCa.certificate, anchors: [pki.marketRoot.certificate] });
  t.teardown(() => m.close());
  const result = await delegatedHandshake({ market: m.target(), signer: fakeSigner(pki) });

  const sessId = spawnSync('openssl', ['sess_id', '-inform', 'PEM', '-noout'], { input: sslSessionToPem(result.session) });
  t.is(sessId.status, 0, sessId.stderr.toString());
  const { der } = await signedLeaf();
  const x509 = spawnSync('openssl', ['x509', '-inform', 'DER', '-noout', '-text'], { input: der });
  t.is(x509.status, 0, x509.stderr.toString());
  t.regex(x509.stdout.toString(), /TLS Web Client Authentication/);
  t.regex(x509.stdout.toString(), /CA:FALSE/);
});
