import test from 'ava';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import {
  certifyCardKey,
  createCaCertificate,
  createClientCertificate,
  createRootCa,
  createServerCertificate,
  derToPem,
  formatFingerprint,
  generateP256KeyPair,
  pemToDer,
  pemToDerAll,
  sha256Fingerprint,
  spkiDer,
} from '../../provisioning/pki/index.js';
import { x509 } from '../../provisioning/pki/x509-provider.js';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';

async function hierarchy() {
  const rootKeys = generateP256KeyPair();
  const root = { privateKey: rootKeys.privateKey, certificate: await createRootCa({ subject: 'CN=Test Root, O=homegate', privateKey: rootKeys.privateKey }) };
  const interKeys = generateP256KeyPair();
  const inter = {
    privateKey: interKeys.privateKey,
    certificate: await createCaCertificate({ subject: 'CN=Test Issuing CA', subjectPublicKey: interKeys.publicKey, issuer: root, pathLength: 0 }),
  };
  return { root, inter };
}

const ext = <T extends x509.Extension>(der: Buffer, type: new (raw: Buffer) => T) => new x509.X509Certificate(der).getExtension(type);

test('A root CA is self-signed, a CA, and allowed to sign certificates', async (t) => {
  const { root } = await hierarchy();
  const cert = new X509Certificate(root.certificate);
  t.true(cert.ca);
  t.true(cert.verify(cert.publicKey));
  t.is(cert.subject, cert.issuer);
  t.true(ext(root.certificate, x509.BasicConstraintsExtension)!.critical);
  t.is(ext(root.certificate, x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  t.is(AsnConvert.parse(root.certificate, Certificate).signatureAlgorithm.algorithm, '1.2.840.10045.4.3.2');
});

test('An intermediate CA carries its pathLength and chains to the root by name, key id and signature', async (t) => {
  const { root, inter } = await hierarchy();
  const cert = new X509Certificate(inter.certificate);
  t.true(cert.checkIssued(new X509Certificate(root.certificate)));
  t.true(cert.verify(new X509Certificate(root.certificate).publicKey));
  t.is(ext(inter.certificate, x509.BasicConstraintsExtension)!.pathLength, 0);
  const aki = ext(inter.certificate, x509.AuthorityKeyIdentifierExtension)!.keyId;
  t.is(aki, ext(root.certificate, x509.SubjectKeyIdentifierExtension)!.keyId);
});

test('A server leaf has serverAuth, digitalSignature and its DNS names; a client leaf has clientAuth', async (t) => {
  const { inter } = await hierarchy();
  const notBefore = new Date('2030-01-01T00:00:00Z');
  const notAfter = new Date('2030-02-01T00:00:00Z');
  const server = await createServerCertificate({
    subject: 'CN=shop.example',
    subjectPublicKey: generateP256KeyPair().publicKey,
    issuer: inter,
    dnsNames: ['shop.example', 'www.shop.example'],
    notBefore,
    notAfter,
  });
  const s = new X509Certificate(server);
  t.false(s.ca);
  t.is(s.subjectAltName, 'DNS:shop.example, DNS:www.shop.example');
  t.deepEqual(s.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  t.is(new Date(s.validFrom).getTime(), notBefore.getTime());
  t.is(new Date(s.validTo).getTime(), notAfter.getTime());
  t.is(ext(server, x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.digitalSignature);
  const clientDer = await createClientCertificate({ subject: 'CN=terminal 1', subjectPublicKey: generateP256KeyPair().publicKey, issuer: inter });
  const client = new X509Certificate(clientDer);
  t.deepEqual(client.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  t.true(client.verify(new X509Certificate(inter.certificate).publicKey));
});

test('A card key given as SPKI DER is certified as a CA with pathLength 0', async (t) => {
  const { root } = await hierarchy();
  const cardKey = generateP256KeyPair().publicKey;
  const der = await certifyCardKey({ subject: 'CN=Home card', cardPublicKey: spkiDer(cardKey), issuer: root });
  const cert = new X509Certificate(der);
  t.true(cert.publicKey.equals(cardKey));
  t.true(cert.ca);
  t.is(ext(der, x509.BasicConstraintsExtension)!.pathLength, 0);
});

test('PEM and DER convert both ways and the fingerprint is the SHA-256 Node reports', async (t) => {
  const { root, inter } = await hierarchy();
  const pem = derToPem(root.certificate);
  t.regex(pem, /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/);
  t.deepEqual(pemToDer(pem), root.certificate);
  t.deepEqual(pemToDerAll(derToPem(inter.certificate) + pem), [inter.certificate, root.certificate]);
  t.is(formatFingerprint(sha256Fingerprint(root.certificate)), new X509Certificate(root.certificate).fingerprint256);
  t.true(
    isCardError(
      t.throws(() => pemToDer('no pem here')),
      CardErrorCode.InvalidArgument,
    ),
  );
});

test('Keys other than P-256, a mismatched issuer key and an empty validity are refused', async (t) => {
  const { root } = await hierarchy();
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const refused = [
    () => createRootCa({ subject: 'CN=x', privateKey: p384.privateKey }),
    () => createCaCertificate({ subject: 'CN=x', subjectPublicKey: p384.publicKey, issuer: root }),
    () =>
      createCaCertificate({
        subject: 'CN=x',
        subjectPublicKey: generateP256KeyPair().publicKey,
        issuer: { ...root, privateKey: generateP256KeyPair().privateKey },
      }),
    () => createRootCa({ subject: 'CN=x', privateKey: generateP256KeyPair().privateKey, notBefore: new Date(2000), notAfter: new Date(1000) }),
    () => createServerCertificate({ subject: 'CN=x', subjectPublicKey: generateP256KeyPair().publicKey, issuer: root, dnsNames: [] }),
  ];
  for (const make of refused) t.true(isCardError(await t.throwsAsync(make()), CardErrorCode.InvalidArgument));
});
