/**
 * ECDSA P-256 over a given SHA-256 digest, DER-encoded (COMPUTE DIGITAL
 * SIGNATURE gets only the digest).
 *
 * Why not node:crypto: `crypto.sign(null | 'sha256', data, ecKey)` always
 * hashes `data` (for EC keys a null algorithm means SHA-256), and WebCrypto
 * has no pre-hashed ECDSA either; a digest-signing API is only now being
 * added to Node (nodejs/node#62345). `@noble/curves` (audited) signs a digest
 * directly with `prehash: false`, with RFC 6979 deterministic nonces. The
 * signature verifies with `crypto.verify('sha256', message, publicKey, sig)`.
 */
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { CardError, CardErrorCode } from '../errors.js';

export const DIGEST_LENGTH = 32;

// The card key as an OpenSSL key object, made once per key pair (a state's key pair object lives on
// unchanged through every commit that does not replace it).
const keyObjects = new WeakMap<object, KeyObject>();

/**
 * ECDSA P-256 with SHA-256 over a whole message (SIGN SESSION CERTIFICATE
 * gets the TBSCertificate itself, not a digest): node:crypto, which hashes
 * and signs in one OpenSSL call, some thirty times cheaper than the pure
 * JavaScript digest signer below. Returns a DER ECDSA-Sig-Value.
 */
export function signMessage(keyPair: { readonly privateKeyPkcs8: Buffer }, message: Buffer): Buffer {
  let key = keyObjects.get(keyPair);
  if (key === undefined) {
    key = createPrivateKey({ key: keyPair.privateKeyPkcs8, format: 'der', type: 'pkcs8' });
    keyObjects.set(keyPair, key);
  }
  return sign('sha256', message, key);
}

/** Sign a 32-byte digest with the PKCS#8 DER P-256 key; returns a DER ECDSA-Sig-Value. */
export function signDigest(privateKeyPkcs8: Buffer, digest: Buffer): Buffer {
  if (digest.length !== DIGEST_LENGTH) throw new CardError(CardErrorCode.InvalidArgument, 'A digest must be 32 bytes');
  const jwk = createPrivateKey({ key: privateKeyPkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
  const scalar = Buffer.from(jwk.d ?? '', 'base64url');
  try {
    return Buffer.from(p256.sign(digest, scalar, { prehash: false, format: 'der' }));
  } finally {
    scalar.fill(0);
  }
}
