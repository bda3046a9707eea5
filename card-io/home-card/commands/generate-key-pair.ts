/**
 * GENERATE ASYMMETRIC KEY PAIR (ISO/IEC 7816-8): 00 47 80 00 00.
 * P1 80 = generate. Answers the new public key as SPKI DER. Needs admin
 * authentication and the personalization life cycle; replaces any key and
 * clears the certificate. Slow on a real card: it asks for S(WTX) meanwhile.
 */
import type { KeyObject } from 'node:crypto';
import { MAX_SHORT_NE, commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { checkStatus } from '../status-error.js';
import { decodePublicKey } from './data-objects.js';

export const GENERATE_KEY_PAIR = 'GENERATE ASYMMETRIC KEY PAIR';

export function buildGenerateKeyPair(): CommandApdu {
  return commandApdu(0x00, 0x47, 0x80, 0x00, Buffer.alloc(0), MAX_SHORT_NE);
}

export function parseGenerateKeyPair(response: ResponseApdu): KeyObject {
  checkStatus(response, { command: GENERATE_KEY_PAIR });
  return decodePublicKey(response.data, GENERATE_KEY_PAIR);
}
