/**
 * CANCEL (PROTOCOL.md, "Purse", claim 5): 80 52 00 00 Lc DF60 { authorization }
 * ‖ DF61 market signature ‖ DF62 market signing certificate, Le. Needs PIN1.
 * Answers the re-signed record (status cancelled). Refusals: 6300 + reason
 * (CertificateRejected: the certificate, or 'bad-signature' for the
 * signature), 6A88 NotFound (no such record in the log), 6A80 WrongData (a
 * field differs), 6985 ConditionsNotSatisfied (already cancelled).
 */
import { MAX_EXTENDED_NE, commandApdu, encodeTlvs, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { parseSignedRecord, type SignedRecord } from '../decision-record.js';
import { encodeCancelAuthorization, type CancelAuthorization } from '../purse-authorizations.js';
import { PurseTag } from '../purse-encoding.js';
import { checkStatus } from '../status-error.js';
import { requireBytes } from './arguments.js';

export const CANCEL = 'CANCEL';

export interface CancelRequest {
  /** The authorization as the market signed it (bytes), or its fields (encoded canonically). */
  authorization: Uint8Array | CancelAuthorization;
  /** The market's DER ECDSA signature over SHA-256 of the authorization bytes. */
  signature: Uint8Array;
  /** The market's signing certificate (DER), issued directly by a trust anchor on the card. */
  certificate: Uint8Array;
}

export function buildCancel(r: CancelRequest): CommandApdu {
  const authorization =
    r.authorization instanceof Uint8Array ? requireBytes(r.authorization, 'cancel authorization', { max: 512 }) : encodeCancelAuthorization(r.authorization);
  const data = encodeTlvs([
    [PurseTag.CancelAuthorization, authorization],
    [PurseTag.AuthorizationSignature, requireBytes(r.signature, 'market signature', { max: 255 })],
    [PurseTag.MarketCertificate, requireBytes(r.certificate, 'market certificate', { max: 8192 })],
  ]);
  return commandApdu(0x80, 0x52, 0x00, 0x00, data, MAX_EXTENDED_NE);
}

export function parseCancel(response: ResponseApdu): SignedRecord {
  checkStatus(response, { command: CANCEL });
  return parseSignedRecord(response.data);
}
