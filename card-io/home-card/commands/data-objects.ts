/**
 * Decoders for the card's data objects (PROTOCOL.md "GET DATA tags"), shared by
 * GET DATA and the SELECT FCI. Each takes the value bytes of one object and
 * returns its typed form, or throws CardError(MalformedApdu) when the card
 * answered 9000 with a value that breaks the contract.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { CardError, CardErrorCode } from '../../errors.js';

/** GET DATA / PUT DATA tags (two-byte BER-TLV tags, ISO/IEC 7816-4 §6.3). */
export const DataTag = {
  CardId: 0xdf01,
  Version: 0xdf02,
  RetryCounters: 0xdf03,
  PublicKey: 0xdf04,
  LifeCycle: 0xdf05,
  TrustAnchors: 0xdf06,
  Certificate: 0x7f21,
  Pin1: 0xdf11,
  Pin2: 0xdf12,
  Puk: 0xdf13,
  AddTrustAnchor: 0xdf20,
  RemoveTrustAnchor: 0xdf21,
} as const;
export type DataTag = (typeof DataTag)[keyof typeof DataTag];

export type LifeCycle = 'personalization' | 'operational';

export interface RetryCounter {
  left: number;
  max: number;
}

export interface RetryCounters {
  pin1: RetryCounter;
  pin2: RetryCounter;
  puk: RetryCounter;
  admin: RetryCounter;
}

export const SHA256_LENGTH = 32;

/** The error for a 9000 answer whose data does not match PROTOCOL.md. */
export function malformedResponse(command: string, what: string, length: number): CardError {
  return new CardError(CardErrorCode.MalformedApdu, `${command} answered malformed ${what}`, { command, length });
}

/** The card id: 8 bytes, as lower-case hex. */
export function decodeCardId(value: Buffer, command = 'GET DATA'): string {
  if (value.length !== 8) throw malformedResponse(command, 'card id', value.length);
  return value.toString('hex');
}

/** The applet version: 2 bytes (major, minor), as "major.minor". */
export function decodeVersion(value: Buffer, command = 'GET DATA'): string {
  if (value.length !== 2) throw malformedResponse(command, 'version', value.length);
  return `${value[0]}.${value[1]}`;
}

/** The life cycle byte: 03 personalization, 05 operational. */
export function decodeLifeCycle(value: Buffer, command = 'GET DATA'): LifeCycle {
  if (value.length === 1 && value[0] === 0x03) return 'personalization';
  if (value.length === 1 && value[0] === 0x05) return 'operational';
  throw malformedResponse(command, 'life cycle', value.length);
}

/** 8 bytes: PIN1 left, max, PIN2 left, max, PUK left, max, admin left, max. */
export function decodeRetryCounters(value: Buffer, command = 'GET DATA'): RetryCounters {
  if (value.length !== 8) throw malformedResponse(command, 'retry counters', value.length);
  const pair = (i: number): RetryCounter => ({ left: value[i]!, max: value[i + 1]! });
  return { pin1: pair(0), pin2: pair(2), puk: pair(4), admin: pair(6) };
}

/** SubjectPublicKeyInfo DER of a P-256 key (the only key type the card has). */
export function decodePublicKey(value: Buffer, command = 'GET DATA'): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(value), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new CardError(
      CardErrorCode.MalformedApdu,
      `${command} answered a public key that is not SPKI DER`,
      {
        command,
        length: value.length,
      },
      { cause },
    );
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw malformedResponse(command, 'public key (not ECDSA P-256)', value.length);
  }
  return key;
}

/** Concatenated SHA-256 fingerprints, 32 bytes each, as lower-case hex strings. */
export function decodeFingerprints(value: Buffer, command = 'GET DATA'): string[] {
  if (value.length % SHA256_LENGTH !== 0) throw malformedResponse(command, 'fingerprint list', value.length);
  const out: string[] = [];
  for (let i = 0; i < value.length; i += SHA256_LENGTH) {
    out.push(value.subarray(i, i + SHA256_LENGTH).toString('hex'));
  }
  return out;
}

/**
 * A DER SEQUENCE (certificate, signature): checks the outer tag only; the
 * callers that need the contents (X509Certificate, crypto.verify) parse it fully.
 */
export function decodeDerSequence(value: Buffer, command: string, what: string): Buffer {
  if (value.length < 2 || value[0] !== 0x30) throw malformedResponse(command, what, value.length);
  return Buffer.from(value);
}
