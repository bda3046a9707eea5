import test from 'ava';
import { createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { createMemoryCardStore } from '../../card-io/emulator/card-store.js';
import { factoryFreshState } from '../../card-io/emulator/card-state.js';
import {
  createClientCertificate,
  createServerCertificate,
  generateP256KeyPair,
  issueCertificate,
  derToPem,
  sha256Fingerprint,
} from '../../provisioning/pki/index.js';
import { x509 } from '../../provisioning/pki/x509-provider.js';
import { makeIssuer, personalize, time8, TestCard } from './emulator-helpers.js';
import { buildSessionTbs, makeMarketPki, MARKET_HOSTS, newCa, type MarketPki, type SessionTbsOptions } from './emulator-pki-fixtures.js';

const NOW = Math.floor(Date.now() / 1000);
const MIN = 60 * 1000;

async function releasedCard() {
  const adminKey = randomBytes(32);
  const card = new TestCard(createMemoryCardStore(factoryFreshState(randomBytes(8), adminKey)));
  const market = await makeMarketPki();
  const issuer = await makeIssuer();
  const p = await personalize(card, adminKey, issuer, [market.root.certificate]);
  await card.select();
  await card.verifyPin(0x81, p.pins.pin1);
  await card.verifyPin(0x82, p.pins.pin2);
  return { card, market, issuer, ...p };
}

function verifyChain(card: TestCard, chain: Uint8Array[], time = Math.floor(Date.now() / 1000)) {
  return card.send(0x00, 0x2a, 0x00, 0xbe, Buffer.concat([time8(time), ...chain]), 256);
}

const marketChain = (m: MarketPki) => [m.leaf, m.intermediate.certificate];

async function leafUnder(issuer: MarketPki['intermediate'], extra: Partial<Parameters<typeof createServerCertificate>[0]> = {}) {
  const { publicKey } = generateP256KeyPair();
  return createServerCertificate({ subject: 'CN=shop.example', subjectPublicKey: publicKey, issuer, dnsNames: MARKET_HOSTS, ...extra });
}

test('VERIFY CERTIFICATE accepts a market chain that ends at an anchor and answers the leaf fingerprint', async (t) => {
  const { card, market } = await releasedCard();
  const r = await verifyChain(card, marketChain(market));
  t.is(r.sw, 0x9000);
  t.deepEqual(r.data, sha256Fingerprint(market.leaf));
  const withRoot = await verifyChain(card, [...marketChain(market), market.root.certificate]);
  t.is(withRoot.sw, 0x9000, 'the anchor itself may end the chain');
  t.is((await card.send(0x00, 0x2a, 0x9e, 0x9a, Buffer.alloc(32), 256)).sw, 0x9000, 'the release was not used up');
});

test('VERIFY CERTIFICATE needs the released state', async (t) => {
  const { card, market, pins } = await releasedCard();
  await card.send(0x00, 0x20, 0xff, 0x82);
  t.is((await verifyChain(card, marketChain(market))).sw, 0x6982);
  await card.verifyPin(0x82, pins.pin2);
  t.is((await verifyChain(card, marketChain(market))).sw, 0x9000);
});

test('Reason 01: a chain that does not end at a trust anchor is untrusted', async (t) => {
  const { card } = await releasedCard();
  const other = await makeMarketPki('Elsewhere');
  const r = await verifyChain(card, marketChain(other));
  t.deepEqual([r.sw, [...r.data]], [0x6300, [0x01]]);
  const selfSigned = await verifyChain(card, [other.root.certificate]);
  t.deepEqual([selfSigned.sw, [...selfSigned.data]], [0x6300, [0x01]]);
});

test('Reason 02: names that do not chain or a signature that does not verify', async (t) => {
  const { card, market } = await releasedCard();
  const sibling = await newCa('CN=Shop Other CA, O=Shop', market.root, 0);
  const r = await verifyChain(card, [market.leaf, sibling.certificate]);
  t.deepEqual([r.sw, [...r.data]], [0x6300, [0x02]]);
  // Same subject name as the real intermediate, different key: the name chains, the signature does not.
  const impostor = await newCa('CN=Shop Issuing CA, O=Shop', market.root, 0);
  const forged = await verifyChain(card, [market.leaf, impostor.certificate]);
  t.deepEqual([forged.sw, [...forged.data]], [0x6300, [0x02]]);
  // An intermediate claiming the anchor's name but signed by another key.
  const fakeRoot = await newCa('CN=Shop Root CA, O=Shop');
  const fakeIntermediate = await newCa('CN=Shop Issuing CA, O=Shop', fakeRoot, 0);
  const leaf = await leafUnder(fakeIntermediate);
  const r3 = await verifyChain(card, [leaf, fakeIntermediate.certificate]);
  t.deepEqual([r3.sw, [...r3.data]], [0x6300, [0x02]]);
});

test('Reason 03: a certificate outside its validity at the time given', async (t) => {
  const { card, market } = await releasedCard();
  const later = await verifyChain(card, marketChain(market), NOW + 2 * 365 * 24 * 3600);
  t.deepEqual([later.sw, [...later.data]], [0x6300, [0x03]]);
  const expiredLeaf = await leafUnder(market.intermediate, {
    notBefore: new Date(Date.now() - 48 * 3600 * 1000),
    notAfter: new Date(Date.now() - 24 * 3600 * 1000),
  });
  const r = await verifyChain(card, [expiredLeaf, market.intermediate.certificate]);
  t.deepEqual([r.sw, [...r.data]], [0x6300, [0x03]]);
});

test('Reason 04: an issuer that is not a CA, or a broken pathLenConstraint', async (t) => {
  const { card, market } = await releasedCard();
  // A leaf certificate (cA FALSE) used as an issuer.
  const notCaKey = generateP256KeyPair();
  const notCa = await createClientCertificate({ subject: 'CN=Not a CA', subjectPublicKey: notCaKey.publicKey, issuer: market.intermediate });
  const below = await leafUnder({ certificate: notCa, privateKey: notCaKey.privateKey });
  const r = await verifyChain(card, [below, notCa, market.intermediate.certificate]);
  t.deepEqual([r.sw, [...r.data]], [0x6300, [0x04]]);
  // The intermediate has pathLength 0: a CA below it breaks the constraint.
  const sub = await newCa('CN=Shop Sub CA', market.intermediate);
  const r2 = await verifyChain(card, [await leafUnder(sub), sub.certificate, market.intermediate.certificate]);
  t.deepEqual([r2.sw, [...r2.data]], [0x6300, [0x04]]);
});

test('Reason 05: a leaf that is a CA, has no dNSName or lacks serverAuth', async (t) => {
  const { card, market } = await releasedCard();
  const key = generateP256KeyPair();
  const clientLeaf = await createClientCertificate({
    subject: 'CN=shop.example',
    subjectPublicKey: key.publicKey,
    issuer: market.intermediate,
    dnsNames: MARKET_HOSTS,
  });
  const caLeaf = (await newCa('CN=shop.example', market.intermediate)).certificate;
  const noSan = await issueCertificate({
    subject: 'CN=shop.example',
    subjectPublicKey: key.publicKey,
    signer: market.intermediate,
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])],
    defaultLifetimeDays: 30,
  });
  for (const leaf of [clientLeaf, caLeaf, noSan]) {
    const r = await verifyChain(card, [leaf, market.intermediate.certificate]);
    t.deepEqual([r.sw, [...r.data]], [0x6300, [0x05]]);
  }
});

test('Reason 06: malformed data or more than four certificates', async (t) => {
  const { card, market } = await releasedCard();
  const garbage = await verifyChain(card, [randomBytes(50)]);
  t.deepEqual([garbage.sw, [...garbage.data]], [0x6300, [0x06]]);
  const truncated = await verifyChain(card, [market.leaf.subarray(0, market.leaf.length - 3)]);
  t.deepEqual([truncated.sw, [...truncated.data]], [0x6300, [0x06]]);
  const five = await verifyChain(
    card,
    Array.from({ length: 5 }, () => market.leaf),
  );
  t.deepEqual([five.sw, [...five.data]], [0x6300, [0x06]]);
  const none = await verifyChain(card, []);
  t.deepEqual([none.sw, [...none.data]], [0x6300, [0x06]]);
  t.is((await card.send(0x00, 0x2a, 0x00, 0xbe, Buffer.alloc(4))).sw, 0x6700);
});

async function sessionCase() {
  const ctx = await releasedCard();
  t_assertOk(await verifyChain(ctx.card, marketChain(ctx.market)));
  const ephemeral = generateP256KeyPair();
  const base = {
    issuerCertificate: ctx.cardCertificate,
    subjectPublicKey: ephemeral.publicKey,
    dnsNames: ['shop.example'],
    notBefore: new Date((NOW - 60) * 1000),
    notAfter: new Date((NOW + 9 * 60) * 1000),
  };
  const sign = (tbs: Buffer) => ctx.card.send(0x80, 0x2a, 0x9e, 0x9c, tbs, 256);
  return { ...ctx, ephemeral, base, sign };
}

function t_assertOk(a: { sw: number }): void {
  if (a.sw !== 0x9000) throw new Error(`expected 9000, got ${a.sw.toString(16)}`);
}

test('SIGN SESSION CERTIFICATE signs a correct TBS for the verified market, once', async (t) => {
  const { base, sign, publicKey, cardCertificate } = await sessionCase();
  const { tbs, assemble } = await buildSessionTbs(base);
  const r = await sign(tbs);
  t.is(r.sw, 0x9000);
  const session = new X509Certificate(assemble(r.data));
  t.true(session.verify(createPublicKey({ key: publicKey, format: 'der', type: 'spki' })));
  t.true(session.checkIssued(new X509Certificate(cardCertificate)));
  t.is((await sign(tbs)).sw, 0x6982, 'the release is used up');
});

test('SIGN SESSION CERTIFICATE refuses other hosts, long validity, a wrong EKU and a wrong issuer with 6A80', async (t) => {
  const { base, sign, market } = await sessionCase();
  const refused: SessionTbsOptions[] = [
    { ...base, dnsNames: ['evil.example'] },
    { ...base, dnsNames: ['shop.example', 'evil.example'] },
    { ...base, dnsNames: [] },
    { ...base, notAfter: new Date(base.notBefore.getTime() + 16 * MIN) },
    { ...base, notBefore: new Date((NOW - 6 * 60) * 1000), notAfter: new Date((NOW + 60) * 1000) },
    { ...base, notBefore: new Date((NOW + 6 * 60) * 1000), notAfter: new Date((NOW + 10 * 60) * 1000) },
    { ...base, eku: null },
    { ...base, eku: [x509.ExtendedKeyUsage.serverAuth] },
    { ...base, eku: [x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth] },
    { ...base, ca: true },
    { ...base, issuerCertificate: market.intermediate.certificate },
  ];
  for (const options of refused) t.is((await sign((await buildSessionTbs(options)).tbs)).sw, 0x6a80);
  const { tbs } = await buildSessionTbs(base);
  t.is((await sign(Buffer.concat([tbs, Buffer.from([0, 0])]))).sw, 0x6a80, 'trailing bytes');
  t.is((await sign(randomBytes(64))).sw, 0x6a80, 'not a TBS');
  t.is((await sign(tbs)).sw, 0x9000, 'refusals did not use up the release');
});

test('SIGN SESSION CERTIFICATE without a verified market answers 6985', async (t) => {
  const { card, cardCertificate } = await releasedCard();
  const { tbs } = await buildSessionTbs({
    issuerCertificate: cardCertificate,
    subjectPublicKey: generateP256KeyPair().publicKey,
    dnsNames: ['shop.example'],
    notBefore: new Date(NOW * 1000),
    notAfter: new Date((NOW + 300) * 1000),
  });
  t.is((await card.send(0x80, 0x2a, 0x9e, 0x9c, tbs, 256)).sw, 0x6985);
});

test('A card-signed session certificate authenticates the gateway to a TLS 1.3 market that trusts the issuer', async (t) => {
  const { base, sign, market, issuer, ephemeral } = await sessionCase();
  const { tbs, assemble } = await buildSessionTbs(base);
  const r = await sign(tbs);
  t.is(r.sw, 0x9000);
  const sessionCert = assemble(r.data);
  const cardCert = base.issuerCertificate;

  const server = tls.createServer({
    key: market.leafKey.export({ type: 'pkcs8', format: 'pem' }),
    cert: derToPem(market.leaf) + derToPem(market.intermediate.certificate),
    ca: derToPem(issuer.certificate),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
  });
  const seen = new Promise<string>((resolve, reject) => {
    server.once('secureConnection', (socket) => {
      const peer = socket.getPeerCertificate();
      resolve(socket.authorized ? String(peer.subject.CN) : 'not authorized');
      socket.end();
    });
    server.once('tlsClientError', reject);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const client = tls.connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      servername: 'shop.example',
      key: ephemeral.privateKey.export({ type: 'pkcs8', format: 'pem' }),
      cert: derToPem(sessionCert) + derToPem(cardCert),
      ca: derToPem(market.root.certificate),
      minVersion: 'TLSv1.3',
    });
    client.on('data', () => undefined);
    await once(client, 'secureConnect');
    t.true(client.authorized);
    t.is(await seen, 'shop.example');
    client.destroy();
  } finally {
    server.close();
  }
});
