/**
 * GET DATA (ISO/IEC 7816-4, P1-P2 = a two-byte tag): 00 CA P1 P2 = tag, Le 00. An unknown tag
 * or an absent value answers 6A88 (CardError NotFound).
 *
 * The certificate may exceed 256 bytes, so its read uses an extended Le
 * (00 00 00, Ne = 65536, §5.1 case 2E); the T=1 layer chains the blocks.
 * Every other object fits a short Le 00 (at most 256 bytes: 8 anchors × 32).
 */
import type { KeyObject } from 'node:crypto';
import { MAX_EXTENDED_NE, MAX_SHORT_NE, commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { checkStatus } from '../status-error.js';
import {
  DataTag,
  decodeCardId,
  decodeDerSequence,
  decodeFingerprints,
  decodeLifeCycle,
  decodePublicKey,
  decodeRetryCounters,
  decodeVersion,
  type LifeCycle,
  type RetryCounters,
} from './data-objects.js';

export const GET_DATA = 'GET DATA';

/** The tags GET DATA can read. */
export type GetDataTag =
  | typeof DataTag.CardId
  | typeof DataTag.Version
  | typeof DataTag.RetryCounters
  | typeof DataTag.PublicKey
  | typeof DataTag.LifeCycle
  | typeof DataTag.TrustAnchors
  | typeof DataTag.Certificate;

export function buildGetData(tag: GetDataTag): CommandApdu {
  const ne = tag === DataTag.Certificate ? MAX_EXTENDED_NE : MAX_SHORT_NE;
  return commandApdu(0x00, 0xca, tag >> 8, tag & 0xff, Buffer.alloc(0), ne);
}

/** The raw value after the status check; the typed parsers below build on it. */
export function parseGetData(response: ResponseApdu): Buffer {
  checkStatus(response, { command: GET_DATA });
  return Buffer.from(response.data);
}

/** DF01: the card id as 16 lower-case hex digits. */
export function parseCardId(response: ResponseApdu): string {
  return decodeCardId(parseGetData(response));
}

/** DF02: the applet version, e.g. "1.0". */
export function parseVersion(response: ResponseApdu): string {
  return decodeVersion(parseGetData(response));
}

/** DF03: the retry counters of PIN1, PIN2, PUK and the admin key. */
export function parseRetryCounters(response: ResponseApdu): RetryCounters {
  return decodeRetryCounters(parseGetData(response));
}

/** DF04: the card's public key (SPKI DER) as a KeyObject. */
export function parsePublicKey(response: ResponseApdu): KeyObject {
  return decodePublicKey(parseGetData(response));
}

/** DF05: the life cycle. */
export function parseLifeCycle(response: ResponseApdu): LifeCycle {
  return decodeLifeCycle(parseGetData(response));
}

/** DF06: the trust anchors' SHA-256 fingerprints as hex strings (empty list when none). */
export function parseTrustAnchors(response: ResponseApdu): string[] {
  return decodeFingerprints(parseGetData(response));
}

/** 7F21: the card certificate, DER. */
export function parseCertificate(response: ResponseApdu): Buffer {
  return decodeDerSequence(parseGetData(response), GET_DATA, 'certificate');
}
