/**
 * SIGN CANCEL REQUEST (PROTOCOL.md, "Purse", claim 5): 80 58 00 00 Lc DF50
 * seq, Le. Needs PIN1. Answers the card-signed request to the decision's
 * market to cancel it (cancel-request.ts). Refusals: 6A88 NotFound (no such
 * record in the log), 6985 ConditionsNotSatisfied (already cancelled).
 */
import { MAX_EXTENDED_NE, commandApdu, encodeTlvs, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { parseSignedCancelRequest, type SignedCancelRequest } from '../cancel-request.js';
import { PurseTag, encodeSeq } from '../purse-encoding.js';
import { checkStatus } from '../status-error.js';

export const SIGN_CANCEL_REQUEST = 'SIGN CANCEL REQUEST';

export function buildSignCancelRequest(seq: number): CommandApdu {
  return commandApdu(0x80, 0x58, 0x00, 0x00, encodeTlvs([[PurseTag.Seq, encodeSeq(seq)]]), MAX_EXTENDED_NE);
}

export function parseSignCancelRequest(response: ResponseApdu): SignedCancelRequest {
  checkStatus(response, { command: SIGN_CANCEL_REQUEST });
  return parseSignedCancelRequest(response.data);
}
