/**
 * LOAD (PROTOCOL.md, "Purse", claim 6): 80 56 00 00 Lc DF70 { authorization }
 * ‖ DF61 issuer signature, Le. Needs PIN1 and a pending load challenge (6985),
 * which any LOAD uses up. Answers the signed load receipt. Refusals: 6A80
 * WrongData (another challenge, card or currency, or a bad issuer
 * signature), 6911 LimitExceeded (over the maximum balance).
 */
import { MAX_EXTENDED_NE, commandApdu, encodeTlvs, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { parseLoadReceipt, type LoadReceipt } from '../load-receipt.js';
import { encodeLoadAuthorization, type LoadAuthorization } from '../purse-authorizations.js';
import { PurseTag } from '../purse-encoding.js';
import { checkStatus } from '../status-error.js';
import { requireBytes } from './arguments.js';

export const LOAD = 'LOAD';

export interface LoadRequest {
  /** The authorization as the issuer signed it (bytes), or its fields (encoded canonically). */
  authorization: Uint8Array | LoadAuthorization;
  /** The issuer's DER ECDSA signature over SHA-256 of the authorization bytes. */
  signature: Uint8Array;
}

export function buildLoad(r: LoadRequest): CommandApdu {
  const authorization =
    r.authorization instanceof Uint8Array ? requireBytes(r.authorization, 'load authorization', { max: 255 }) : encodeLoadAuthorization(r.authorization);
  const data = encodeTlvs([
    [PurseTag.LoadAuthorization, authorization],
    [PurseTag.AuthorizationSignature, requireBytes(r.signature, 'issuer signature', { max: 255 })],
  ]);
  return commandApdu(0x80, 0x56, 0x00, 0x00, data, MAX_EXTENDED_NE);
}

export function parseLoad(response: ResponseApdu): LoadReceipt {
  checkStatus(response, { command: LOAD });
  return parseLoadReceipt(response.data);
}
