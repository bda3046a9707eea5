/**
 * The card image file format: JSON, with the card state as a JSON string in
 * `body` and a SHA-256 of exactly those body bytes in `sha256`. Keeping the
 * body as a string means the checksum covers the bytes that were written, with
 * no canonical-JSON step. A truncated, edited or mixed file fails the checksum
 * or the strict field checks and is reported as CardError(ImageCorrupt),
 * never used.
 *
 * Inside the body: binary as base64, the private key as PKCS#8 PEM, the purse
 * as purse-image-codec.ts writes it (optional, so older images load), and
 * `commitSeq`, the commit number the image was written at (optional, 0 in
 * older images): the counter file beside the image (counter-file.ts) holds
 * newer counters only when its slot's seq is higher. The file holds the
 * card's private key and PIN hashes, hence mode 0600 (card-image.ts).
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { CardError, CardErrorCode } from '../errors.js';
import { ADMIN_KEY_LENGTH, CARD_ID_LENGTH, LifeCycle, MAX_TRUST_ANCHORS, type CardState, type PinRecord, type RetryCounter } from './card-state.js';
import { purseFromJson, purseToJson } from './purse-image-codec.js';

const FORMAT = 'homegate-card-image';
const VERSION = 1;

type Json = Record<string, unknown>;

const b64 = (b: Buffer) => b.toString('base64');

function pinToJson(p: PinRecord | null): Json | null {
  return p && { salt: b64(p.salt), hash: b64(p.hash), tries: { ...p.tries } };
}

// The PEM of a key pair, exported once: exporting costs more than the rest of an image write,
// and a state's key pair object lives on unchanged through every commit that does not replace it.
const pemOf = new WeakMap<object, string>();

function privateKeyPem(keyPair: NonNullable<CardState['keyPair']>): string {
  let pem = pemOf.get(keyPair);
  if (pem === undefined) {
    pem = createPrivateKey({ key: keyPair.privateKeyPkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
    pemOf.set(keyPair, pem);
  }
  return pem;
}

/** The image file's bytes for `s`, written at commit number `commitSeq`. */
export function encodeImage(s: CardState, commitSeq = 0): Buffer {
  const body = JSON.stringify({
    cardId: s.cardId.toString('hex'),
    lifeCycle: s.lifeCycle,
    adminKey: b64(s.adminKey),
    adminTries: { ...s.adminTries },
    pin1: pinToJson(s.pin1),
    pin2: pinToJson(s.pin2),
    puk: pinToJson(s.puk),
    keyPair: s.keyPair && {
      privateKey: privateKeyPem(s.keyPair),
      publicKey: b64(s.keyPair.publicKeySpki),
    },
    certificate: s.certificate && b64(s.certificate),
    anchors: s.anchors.map(b64),
    purse: purseToJson(s.purse),
    commitSeq,
  });
  const sha256 = createHash('sha256').update(body, 'utf8').digest('hex');
  return Buffer.from(JSON.stringify({ format: FORMAT, version: VERSION, sha256, body }, null, 1) + '\n', 'utf8');
}

function corrupt(reason: string): CardError {
  return new CardError(CardErrorCode.ImageCorrupt, `Card image is corrupt: ${reason}`, { reason });
}

function obj(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw corrupt(`${what} is not an object`);
  return v as Json;
}

function bytes(v: unknown, what: string, encoding: 'base64' | 'hex', length?: number): Buffer {
  const re = encoding === 'hex' ? /^(?:[0-9a-f]{2})*$/ : /^[A-Za-z0-9+/]*={0,2}$/;
  if (typeof v !== 'string' || !re.test(v)) throw corrupt(`${what} is not ${encoding}`);
  const b = Buffer.from(v, encoding);
  if (length !== undefined && b.length !== length) throw corrupt(`${what} has the wrong length`);
  return b;
}

function counter(v: unknown, what: string): RetryCounter {
  const o = obj(v, what);
  const { left, max } = o;
  if (!Number.isInteger(max) || !Number.isInteger(left) || (max as number) < 1 || (max as number) > 15) {
    throw corrupt(`${what} is not a counter`);
  }
  if ((left as number) < 0 || (left as number) > (max as number)) throw corrupt(`${what} is out of range`);
  return { left: left as number, max: max as number };
}

function pin(v: unknown, what: string): PinRecord | null {
  if (v === null) return null;
  const o = obj(v, what);
  return { salt: bytes(o.salt, `${what}.salt`, 'base64'), hash: bytes(o.hash, `${what}.hash`, 'base64', 32), tries: counter(o.tries, `${what}.tries`) };
}

function keyPair(v: unknown): CardState['keyPair'] {
  if (v === null) return null;
  const o = obj(v, 'keyPair');
  const publicKeySpki = bytes(o.publicKey, 'keyPair.publicKey', 'base64');
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: String(o.privateKey), format: 'pem' });
  } catch {
    throw corrupt('keyPair.privateKey does not parse');
  }
  if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw corrupt('card key is not P-256');
  if (!createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(publicKeySpki)) {
    throw corrupt('card public key does not match the private key');
  }
  return { privateKeyPkcs8: key.export({ type: 'pkcs8', format: 'der' }), publicKeySpki };
}

function body(v: Json): CardState {
  const lifeCycle = v.lifeCycle;
  if (lifeCycle !== LifeCycle.Personalization && lifeCycle !== LifeCycle.Operational) throw corrupt('bad life cycle');
  if (!Array.isArray(v.anchors) || v.anchors.length > MAX_TRUST_ANCHORS) throw corrupt('bad anchor list');
  return {
    cardId: bytes(v.cardId, 'cardId', 'hex', CARD_ID_LENGTH),
    lifeCycle,
    adminKey: bytes(v.adminKey, 'adminKey', 'base64', ADMIN_KEY_LENGTH),
    adminTries: counter(v.adminTries, 'adminTries'),
    pin1: pin(v.pin1, 'pin1'),
    pin2: pin(v.pin2, 'pin2'),
    puk: pin(v.puk, 'puk'),
    keyPair: keyPair(v.keyPair),
    certificate: v.certificate === null ? null : bytes(v.certificate, 'certificate', 'base64'),
    anchors: v.anchors.map((a, i) => bytes(a, `anchors[${i}]`, 'base64')),
    // Absent in images written before the purse: loads as a purse with currency unset.
    purse: purseFromJson(v.purse),
  };
}

/** Parse and check an image file's bytes; throws CardError(ImageCorrupt). */
export function decodeImage(file: Buffer): CardState {
  return decodeImageFile(file).state;
}

/** The state and the commit number an image file was written at (0 for images of earlier versions). */
export function decodeImageFile(file: Buffer): { state: CardState; commitSeq: number } {
  let outer: Json;
  try {
    outer = obj(JSON.parse(file.toString('utf8')), 'image');
  } catch (e) {
    throw e instanceof CardError ? e : corrupt('not JSON');
  }
  if (outer.format !== FORMAT || outer.version !== VERSION) throw corrupt('unknown format or version');
  if (typeof outer.body !== 'string' || typeof outer.sha256 !== 'string') throw corrupt('missing body or checksum');
  const sum = createHash('sha256').update(outer.body, 'utf8').digest('hex');
  if (sum !== outer.sha256) throw corrupt('checksum mismatch');
  let inner: Json;
  try {
    inner = obj(JSON.parse(outer.body), 'body');
  } catch (e) {
    throw e instanceof CardError ? e : corrupt('body is not JSON');
  }
  const commitSeq = inner.commitSeq ?? 0;
  if (!Number.isSafeInteger(commitSeq) || (commitSeq as number) < 0) throw corrupt('bad commitSeq');
  return { state: body(inner), commitSeq: commitSeq as number };
}
