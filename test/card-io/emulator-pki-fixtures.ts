/**
 * Real certificate chains for the emulator tests, made with provisioning/pki:
 * a market root (a trust anchor on the card) → intermediate → server leaf,
 * plus session-certificate TBS building the way the gateway will do it.
 */
import type { KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import {
  createCaCertificate,
  createRootCa,
  createServerCertificate,
  generateP256KeyPair,
  toPublicCryptoKey,
  type IssuingCa,
} from '../../provisioning/pki/index.js';
import { ECDSA_P256_SHA256, pkiCrypto, x509 } from '../../provisioning/pki/x509-provider.js';

export const MARKET_HOSTS = ['shop.example', 'www.shop.example'];

export interface MarketPki {
  root: IssuingCa;
  intermediate: IssuingCa;
  leaf: Buffer;
  leafKey: KeyObject;
}

export async function newCa(subject: string, issuer?: IssuingCa, pathLength?: number): Promise<IssuingCa> {
  const { privateKey, publicKey } = generateP256KeyPair();
  const certificate = issuer
    ? await createCaCertificate({ subject, subjectPublicKey: publicKey, issuer, pathLength })
    : await createRootCa({ subject, privateKey, pathLength });
  return { privateKey, certificate };
}

export async function makeMarketPki(name = 'Shop', hosts = MARKET_HOSTS): Promise<MarketPki> {
  const root = await newCa(`CN=${name} Root CA, O=${name}`);
  const intermediate = await newCa(`CN=${name} Issuing CA, O=${name}`, root, 0);
  const { privateKey: leafKey, publicKey } = generateP256KeyPair();
  const leaf = await createServerCertificate({ subject: `CN=${hosts[0]}`, subjectPublicKey: publicKey, issuer: intermediate, dnsNames: hosts });
  return { root, intermediate, leaf, leafKey };
}

export interface SessionTbsOptions {
  /** The card certificate (DER): its subject becomes the issuer. */
  issuerCertificate: Uint8Array;
  subjectPublicKey: KeyObject;
  dnsNames: string[];
  notBefore: Date;
  notAfter: Date;
  /** EKU OIDs; null leaves the extension out. Default clientAuth. */
  eku?: string[] | null;
  ca?: boolean;
}

/** Build a session-certificate TBS; returns it with a function that assembles the signed certificate. */
export async function buildSessionTbs(o: SessionTbsOptions): Promise<{ tbs: Buffer; assemble(signature: Buffer): Buffer }> {
  const extensions: x509.Extension[] = [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)];
  if (o.ca !== undefined) extensions.push(new x509.BasicConstraintsExtension(o.ca, undefined, true));
  const eku = o.eku === undefined ? [x509.ExtendedKeyUsage.clientAuth] : o.eku;
  if (eku !== null) extensions.push(new x509.ExtendedKeyUsageExtension(eku));
  if (o.dnsNames.length > 0) {
    extensions.push(new x509.SubjectAlternativeNameExtension(o.dnsNames.map((value) => ({ type: 'dns' as const, value }))));
  }
  // The TBS is produced by signing with a throw-away key and keeping only the TBS part.
  const throwAway = await pkiCrypto.subtle.generateKey(ECDSA_P256_SHA256, false, ['sign', 'verify']);
  const draft = await x509.X509CertificateGenerator.create(
    {
      subject: `CN=${o.dnsNames[0] ?? 'session'}`,
      issuer: new x509.X509Certificate(o.issuerCertificate).subjectName,
      notBefore: o.notBefore,
      notAfter: o.notAfter,
      publicKey: await toPublicCryptoKey(o.subjectPublicKey),
      signingKey: throwAway.privateKey,
      signingAlgorithm: ECDSA_P256_SHA256,
      extensions,
    },
    pkiCrypto,
  );
  const cert = AsnConvert.parse(draft.rawData, Certificate);
  return {
    tbs: Buffer.from(AsnConvert.serialize(cert.tbsCertificate)),
    assemble(signature: Buffer): Buffer {
      cert.signatureValue = new Uint8Array(signature).buffer;
      return Buffer.from(AsnConvert.serialize(cert));
    },
  };
}
