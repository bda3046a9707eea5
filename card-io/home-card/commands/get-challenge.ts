/**
 * GET CHALLENGE (ISO/IEC 7816-4): 00 84 00 00 10. The card answers 16
 * random bytes and keeps them as the pending challenge for one EXTERNAL
 * AUTHENTICATE (PROTOCOL.md "Admin authentication").
 */
import { commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { checkStatus } from '../status-error.js';
import { malformedResponse } from './data-objects.js';

export const GET_CHALLENGE = 'GET CHALLENGE';
export const CHALLENGE_LENGTH = 16;

export function buildGetChallenge(): CommandApdu {
  return commandApdu(0x00, 0x84, 0x00, 0x00, Buffer.alloc(0), CHALLENGE_LENGTH);
}

export function parseGetChallenge(response: ResponseApdu): Buffer {
  checkStatus(response, { command: GET_CHALLENGE });
  if (response.data.length !== CHALLENGE_LENGTH) {
    throw malformedResponse(GET_CHALLENGE, 'challenge', response.data.length);
  }
  return Buffer.from(response.data);
}
