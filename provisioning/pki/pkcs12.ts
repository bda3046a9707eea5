/**
 * A PKCS#12 file (RFC 7292) holding a terminal's P-256 key and its
 * certificate chain, for phones and browsers that do mutual TLS with an
 * imported identity (`homegate terminal export`).
 *
 * Why built here: node-forge's PKCS#12 handles RSA keys only, and Node has no
 * PKCS#12 writer. The pieces come from what the project has already:
 * - the key bag is Node's own encrypted PKCS#8 (`KeyObject.export` with a
 *   cipher): PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC (RFC 8018 §6.2),
 *   what OpenSSL 3 writes by default;
 * - the bag structures are @peculiar/asn1-pfx (already here under
 *   @peculiar/x509); certificates go in plain `data` bags (they are public);
 * - the integrity MAC is HMAC-SHA256 with the key from the PKCS#12 KDF
 *   (RFC 7292 Appendix B.2, ID 3) over the password as a BMPString, which
 *   every PKCS#12 reader checks (OpenSSL 3 itself writes this MAC).
 */
import { createHash, createHmac, type KeyObject, randomBytes } from 'node:crypto';
import { ContentInfo, id_data } from '@peculiar/asn1-cms';
import {
  AuthenticatedSafe,
  CertBag,
  id_certBag,
  id_pkcs8ShroudedKeyBag,
  id_x509Certificate,
  MacData,
  PFX,
  PKCS12Attribute,
  SafeBag,
  SafeContents,
} from '@peculiar/asn1-pfx';
import { DigestInfo } from '@peculiar/asn1-rsa';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { CardError, CardErrorCode } from '../../card-io/errors.js';

const ID_SHA256 = '2.16.840.1.101.3.4.2.1';
const ID_FRIENDLY_NAME = '1.2.840.113549.1.9.20';
const ID_LOCAL_KEY_ID = '1.2.840.113549.1.9.21';
/** PBKDF2 and MAC iterations: OpenSSL 3's default is 2048; more costs a phone nothing noticeable once. */
const MAC_ITERATIONS = 10_000;

const der = (v: unknown) => Buffer.from(AsnConvert.serialize(v));
const ab = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

/** The password as PKCS#12 wants it for the KDF: UTF-16BE with a two-byte zero terminator (RFC 7292 Appendix B.1). */
function bmpPassword(password: string): Buffer {
  const utf16le = Buffer.from(`${password}\0`, 'utf16le');
  return Buffer.from(utf16le.swap16());
}

/** DER BMPString (tag 0x1E) of a short text. */
function bmpString(text: string): Buffer {
  const body = Buffer.from(text, 'utf16le').swap16();
  if (body.length > 127) throw new CardError(CardErrorCode.InvalidArgument, 'friendly name too long');
  return Buffer.concat([Buffer.from([0x1e, body.length]), body]);
}

/** RFC 7292 Appendix B.2 with SHA-256 (u = 32, v = 64). */
export function pkcs12Kdf(password: string, salt: Buffer, id: number, iterations: number, length: number): Buffer {
  const u = 32;
  const v = 64;
  const fill = (s: Buffer) => {
    if (s.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(s.length / v));
    for (let i = 0; i < out.length; i++) out[i] = s[i % s.length]!;
    return out;
  };
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([fill(salt), fill(bmpPassword(password))]);
  const blocks: Buffer[] = [];
  for (let produced = 0; produced < length; produced += u) {
    let A = createHash('sha256').update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash('sha256').update(A).digest();
    blocks.push(A);
    const B = fill(A);
    // I_j = (I_j + B + 1) mod 2^(8v), for each v-byte block of I.
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function dataContent(bytes: Buffer): ContentInfo {
  return new ContentInfo({ contentType: id_data, content: ab(der(new OctetString(bytes))) });
}

export interface Pkcs12Input {
  privateKey: KeyObject;
  /** The certificate first, then its chain (DER), up to and including the root if wanted. */
  certificates: readonly Uint8Array[];
  password: string;
  /** Shown by the importing device. */
  friendlyName: string;
}

export function createPkcs12(p: Pkcs12Input): Buffer {
  if (p.password.length === 0) throw new CardError(CardErrorCode.InvalidArgument, 'A PKCS#12 file needs a password');
  const localKeyId = createHash('sha256').update(p.certificates[0]!).digest().subarray(0, 20);
  // Assigned after construction: PKCS12Attribute's constructor (asn1-pfx 2.11) drops its parameters.
  const attributes = [
    Object.assign(new PKCS12Attribute(), { attrId: ID_LOCAL_KEY_ID, attrValues: [ab(der(new OctetString(localKeyId)))] }),
    Object.assign(new PKCS12Attribute(), { attrId: ID_FRIENDLY_NAME, attrValues: [ab(bmpString(p.friendlyName))] }),
  ];
  const certBags = p.certificates.map(
    (c, i) =>
      new SafeBag({
        bagId: id_certBag,
        bagValue: ab(der(new CertBag({ certId: id_x509Certificate, certValue: ab(der(new OctetString(Buffer.from(c)))) }))),
        ...(i === 0 ? { bagAttributes: attributes } : {}),
      }),
  );
  const shrouded = p.privateKey.export({ type: 'pkcs8', format: 'der', cipher: 'aes-256-cbc', passphrase: p.password });
  const keyBag = new SafeBag({ bagId: id_pkcs8ShroudedKeyBag, bagValue: ab(shrouded), bagAttributes: attributes });

  const authSafe = der(new AuthenticatedSafe([dataContent(der(new SafeContents(certBags))), dataContent(der(new SafeContents([keyBag])))]));
  const salt = randomBytes(16);
  const macKey = pkcs12Kdf(p.password, salt, 3, MAC_ITERATIONS, 32);
  const mac = createHmac('sha256', macKey).update(authSafe).digest();
  const pfx = new PFX({
    version: 3,
    authSafe: dataContent(authSafe),
    macData: new MacData({
      mac: new DigestInfo({ digestAlgorithm: new AlgorithmIdentifier({ algorithm: ID_SHA256, parameters: null }), digest: new OctetString(mac) }),
      macSalt: new OctetString(salt),
      iterations: MAC_ITERATIONS,
    }),
  });
  return der(pfx);
}
