/**
 * The session leaf's TBSCertificate is written as DER directly
 * (gateway/proxy/session-certificate.ts) instead of through the ASN.1 schema
 * objects, for CPU. These tests hold it to the bytes the schema library
 * (@peculiar/asn1-x509, what built it before) encodes for the same fields:
 * any difference in a tag, a length, a default or a time form shows here,
 * and so would a wrong card key identifier (the gateway reads the card
 * certificate's SKI by walking its DER).
 */
import test from 'ava';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_clientAuth,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { assembleCertificate, buildSessionTbs, ECDSA_WITH_SHA256, subjectPublicKeyInfoDer } from '../../gateway/proxy/session-certificate.js';
import { makeProxyPki } from '../helpers/proxy-fixtures.js';

const ext = (extnID: string, critical: boolean, value: unknown) => new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });

/** The card certificate's SKI as the library reads it (the gateway walks the DER itself). */
function cardKeyId(card: Certificate): Buffer {
  const ski = card.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_subjectKeyIdentifier);
  if (!ski) throw new Error('the test card certificate has a subjectKeyIdentifier');
  return Buffer.from(AsnConvert.parse(ski.extnValue, SubjectKeyIdentifier).buffer);
}

/** What the schema library encodes for the fields read back from a hand-written TBS (the former construction). */
function referenceTbs(der: Buffer, cardCertificate: Buffer, dnsName: string): Buffer {
  const parsed = AsnConvert.parse(der, TBSCertificate);
  const card = AsnConvert.parse(cardCertificate, Certificate);
  const commonName = parsed.subject[0]![0]!.value.utf8String!;
  const spki = AsnConvert.parse(AsnConvert.serialize(parsed.subjectPublicKeyInfo), SubjectPublicKeyInfo);
  const keyId = createHash('sha1').update(Buffer.from(spki.subjectPublicKey)).digest();
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: parsed.serialNumber,
    signature: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    issuer: card.tbsCertificate.subject,
    validity: new Validity({ notBefore: parsed.validity.notBefore.getTime(), notAfter: parsed.validity.notAfter.getTime() }),
    subject: new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: '2.5.4.3', value: new AttributeValue({ utf8String: commonName }) })])]),
    subjectPublicKeyInfo: spki,
    extensions: new Extensions([
      ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
      ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
      ext(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_clientAuth])),
      ext(id_ce_subjectAltName, false, new SubjectAlternativeName([new GeneralName({ dNSName: dnsName })])),
      ext(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyId)),
      ext(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(cardKeyId(card)) })),
    ]),
  });
  return Buffer.from(AsnConvert.serialize(tbs));
}

test('The hand-written TBS is byte for byte what the ASN.1 schema library encodes for the same fields, for many keys, names and times', async (t) => {
  const pki = await makeProxyPki();
  const names = ['localhost', 'shop.example', 'a-much-longer-market-name.payments.example.org'];
  const times = [Date.UTC(2026, 0, 15, 12, 0, 0), Date.UTC(2026, 11, 31, 23, 59, 59), Date.UTC(2049, 11, 31, 23, 55, 0)];
  let compared = 0;
  for (const dnsName of names) {
    for (const now of times) {
      for (const lifetimeSeconds of [60, 300, 900]) {
        const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const tbs = buildSessionTbs({ cardCertificate: pki.cardCertificate, subjectPublicKey: publicKey, dnsName, now, lifetimeSeconds });
        t.deepEqual(tbs.der, referenceTbs(tbs.der, pki.cardCertificate, dnsName), `${dnsName} at ${new Date(now).toISOString()} for ${lifetimeSeconds} s`);
        compared++;
      }
    }
  }
  t.is(compared, 27);
});

test('A validity that ends in 2050 or later is written as GeneralizedTime, as RFC 5280 §4.1.2.5 requires, and as the library writes it', async (t) => {
  const pki = await makeProxyPki();
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = Date.UTC(2049, 11, 31, 23, 58, 0); // the leaf ends after midnight: notBefore UTCTime, notAfter GeneralizedTime
  const tbs = buildSessionTbs({ cardCertificate: pki.cardCertificate, subjectPublicKey: publicKey, dnsName: 'localhost', now, lifetimeSeconds: 300 });
  t.true(tbs.der.includes(Buffer.from('20500101', 'latin1')));
  t.deepEqual(tbs.der, referenceTbs(tbs.der, pki.cardCertificate, 'localhost'));
});

test('The assembled certificate carries ecdsa-with-SHA256 as the library encodes it, and the TBS and signature unchanged', async (t) => {
  const pki = await makeProxyPki();
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tbs = buildSessionTbs({
    cardCertificate: pki.cardCertificate,
    subjectPublicKey: publicKey,
    dnsName: 'localhost',
    now: Date.now(),
    lifetimeSeconds: 300,
  });
  const signature = Buffer.from('3006020101020101', 'hex'); // any DER ECDSA-Sig-Value: only the framing is checked
  const cert = AsnConvert.parse(assembleCertificate(tbs.der, signature), Certificate);
  t.deepEqual(Buffer.from(AsnConvert.serialize(cert.tbsCertificate)), tbs.der);
  t.is(cert.signatureAlgorithm.algorithm, ECDSA_WITH_SHA256);
  t.is(cert.signatureAlgorithm.parameters, undefined);
  t.deepEqual(Buffer.from(cert.signatureValue), signature);
});

test("The SubjectPublicKeyInfo written from a P-256 key's coordinates is byte for byte what OpenSSL exports, coordinates with leading zero bytes included; other keys are exported by OpenSSL", async (t) => {
  let leadingZero = 0;
  for (let i = 0; i < 600; i++) {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const expected = publicKey.export({ type: 'spki', format: 'der' });
    t.deepEqual(subjectPublicKeyInfoDer(publicKey), expected);
    if (expected[27] === 0 || expected[59] === 0) leadingZero++;
  }
  t.true(leadingZero > 0, 'some keys had a coordinate starting with a zero byte');
  const pki = await makeProxyPki();
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tbs = buildSessionTbs({
    cardCertificate: pki.cardCertificate,
    subjectPublicKey: publicKey,
    dnsName: 'localhost',
    now: Date.now(),
    lifetimeSeconds: 300,
  });
  t.true(tbs.der.includes(publicKey.export({ type: 'spki', format: 'der' })));
  for (const other of [generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey, generateKeyPairSync('ed25519').publicKey]) {
    t.deepEqual(subjectPublicKeyInfoDer(other), other.export({ type: 'spki', format: 'der' }));
  }
});
