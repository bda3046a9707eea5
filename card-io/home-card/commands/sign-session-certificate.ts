/**
 * SIGN SESSION CERTIFICATE (proprietary, CLA 80): 80 2A 9E 9C Lc TBS Le.
 * The card checks the TBSCertificate against the session-certificate rules
 * (PROTOCOL.md; 6A80 if it breaks one), signs SHA-256(TBS) and answers the DER
 * signature. Needs the released state (6982) and a verified market (6985);
 * uses up the release. A TBS over 255 bytes makes the APDU extended (case 4E).
 */
import { MAX_SHORT_NE, commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { checkStatus } from '../status-error.js';
import { requireBytes } from './arguments.js';
import { decodeDerSequence } from './data-objects.js';

export const SIGN_SESSION_CERTIFICATE = 'SIGN SESSION CERTIFICATE';

export function buildSignSessionCertificate(tbsDer: Buffer): CommandApdu {
  const data = requireBytes(tbsDer, 'TBSCertificate', { max: 65535 });
  return commandApdu(0x80, 0x2a, 0x9e, 0x9c, data, MAX_SHORT_NE);
}

export function parseSignSessionCertificate(response: ResponseApdu): Buffer {
  checkStatus(response, { command: SIGN_SESSION_CERTIFICATE });
  return decodeDerSequence(response.data, SIGN_SESSION_CERTIFICATE, 'signature');
}
