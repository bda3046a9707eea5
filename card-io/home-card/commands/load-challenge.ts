/**
 * GET LOAD CHALLENGE (PROTOCOL.md, "Purse", claim 6): 80 54 00 00 10. Needs
 * PIN1. Answers 16 random bytes, the challenge the issuer's load
 * authorization must carry; it replaces any earlier one, and the next LOAD
 * uses it up whatever the outcome.
 */
import { commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { LOAD_CHALLENGE_LENGTH } from '../purse-encoding.js';
import { checkStatus } from '../status-error.js';
import { malformedResponse } from './data-objects.js';

export const GET_LOAD_CHALLENGE = 'GET LOAD CHALLENGE';

export function buildGetLoadChallenge(): CommandApdu {
  return commandApdu(0x80, 0x54, 0x00, 0x00, Buffer.alloc(0), LOAD_CHALLENGE_LENGTH);
}

export function parseGetLoadChallenge(response: ResponseApdu): Buffer {
  checkStatus(response, { command: GET_LOAD_CHALLENGE });
  if (response.data.length !== LOAD_CHALLENGE_LENGTH) {
    throw malformedResponse(GET_LOAD_CHALLENGE, 'load challenge', response.data.length);
  }
  return Buffer.from(response.data);
}
