/**
 * Key handling for the PKI helpers.
 *
 * The API takes and returns Node `KeyObject`s (what `generateKeyPairSync`, TLS
 * and file storage use); `@peculiar/x509` wants WebCrypto `CryptoKey`s, so the
 * conversion happens here and nowhere else. A subject's public key may also be
 * given as SPKI DER bytes: that is how the home card hands out the key it
 * generated on the card (GET DATA DF04), and its private half never leaves it.
 */
import { createPublicKey, generateKeyPairSync, KeyObject, type webcrypto } from 'node:crypto';
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import { ECDSA_P256_SHA256, pkiCrypto } from './x509-provider.js';

/** A subject's public key: a Node KeyObject, or SubjectPublicKeyInfo DER. */
export type PublicKeyInput = KeyObject | Uint8Array;

export interface P256KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateP256KeyPair(): P256KeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

function assertP256(key: KeyObject, what: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new CardError(CardErrorCode.InvalidArgument, `${what} must be an EC P-256 key`, {
      keyType: key.asymmetricKeyType,
    });
  }
}

/** The public key as a KeyObject, from either form; rejects anything but P-256. */
export function toPublicKeyObject(input: PublicKeyInput): KeyObject {
  let key: KeyObject;
  if (input instanceof KeyObject) {
    key = input.type === 'private' ? createPublicKey(input) : input;
  } else {
    try {
      key = createPublicKey({ key: Buffer.from(input), format: 'der', type: 'spki' });
    } catch (e) {
      throw new CardError(CardErrorCode.InvalidArgument, 'Public key is not SPKI DER', {}, { cause: e });
    }
  }
  assertP256(key, 'Public key');
  return key;
}

/** SubjectPublicKeyInfo DER of a public key given in either form. */
export function spkiDer(input: PublicKeyInput): Buffer {
  return toPublicKeyObject(input).export({ type: 'spki', format: 'der' });
}

/** WebCrypto signing key for `@peculiar/x509`; not extractable. */
export async function toSigningCryptoKey(privateKey: KeyObject): Promise<webcrypto.CryptoKey> {
  if (privateKey.type !== 'private') {
    throw new CardError(CardErrorCode.InvalidArgument, 'A signing key must be a private key');
  }
  assertP256(privateKey, 'Signing key');
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  return pkiCrypto.subtle.importKey('pkcs8', pkcs8, ECDSA_P256_SHA256, false, ['sign']);
}

/** WebCrypto public key, for the library's key identifiers and SPKI field. */
export async function toPublicCryptoKey(input: PublicKeyInput): Promise<webcrypto.CryptoKey> {
  return pkiCrypto.subtle.importKey('spki', spkiDer(input), ECDSA_P256_SHA256, true, ['verify']);
}
