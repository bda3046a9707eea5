/**
 * EXTERNAL AUTHENTICATE, mutual (ISO/IEC 7816-4; P2 01 names the admin key):
 * 00 82 00 01 30 rh(16) ‖ host cryptogram(32) 00. The card answers its own
 * cryptogram (32), which the host must check (see admin-auth.ts). A wrong host
 * cryptogram is 63Cx with admin tries left, a blocked admin key 6983.
 *
 * PROTOCOL.md lists no Le for this command; Le 00 is sent because the command
 * returns data (case 4, ISO/IEC 7816-4 §5.1).
 */
import { commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { checkStatus } from '../status-error.js';
import { requireBytes } from './arguments.js';
import { malformedResponse } from './data-objects.js';

export const EXTERNAL_AUTHENTICATE = 'EXTERNAL AUTHENTICATE';
export const HOST_CHALLENGE_LENGTH = 16;
export const CRYPTOGRAM_LENGTH = 32;
const ADMIN_KEY_REFERENCE = 0x01;

export function buildExternalAuthenticate(hostChallenge: Buffer, hostCryptogram: Buffer): CommandApdu {
  const data = Buffer.concat([
    requireBytes(hostChallenge, 'host challenge', { length: HOST_CHALLENGE_LENGTH }),
    requireBytes(hostCryptogram, 'host cryptogram', { length: CRYPTOGRAM_LENGTH }),
  ]);
  return commandApdu(0x00, 0x82, 0x00, ADMIN_KEY_REFERENCE, data, 256);
}

/** Returns the card cryptogram, still to be checked by the caller. */
export function parseExternalAuthenticate(response: ResponseApdu): Buffer {
  checkStatus(response, { command: EXTERNAL_AUTHENTICATE, credential: 'ADMIN' });
  if (response.data.length !== CRYPTOGRAM_LENGTH) {
    throw malformedResponse(EXTERNAL_AUTHENTICATE, 'card cryptogram', response.data.length);
  }
  return Buffer.from(response.data);
}
