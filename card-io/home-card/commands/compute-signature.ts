/**
 * PERFORM SECURITY OPERATION: COMPUTE DIGITAL SIGNATURE (ISO/IEC 7816-8): 00 2A 9E 9A 20
 * digest(32) 00. The gateway hashes (SHA-256); the card signs the digest with
 * its P-256 key and answers a DER ECDSA-Sig-Value. Needs the released state
 * (PIN2 verified, 6982 otherwise) and uses it up.
 */
import { MAX_SHORT_NE, commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { checkStatus } from '../status-error.js';
import { requireBytes } from './arguments.js';
import { SHA256_LENGTH, decodeDerSequence } from './data-objects.js';

export const COMPUTE_SIGNATURE = 'COMPUTE DIGITAL SIGNATURE';

export function buildComputeSignature(digest: Buffer): CommandApdu {
  const data = requireBytes(digest, 'SHA-256 digest', { length: SHA256_LENGTH });
  return commandApdu(0x00, 0x2a, 0x9e, 0x9a, data, MAX_SHORT_NE);
}

export function parseComputeSignature(response: ResponseApdu): Buffer {
  checkStatus(response, { command: COMPUTE_SIGNATURE });
  return decodeDerSequence(response.data, COMPUTE_SIGNATURE, 'signature');
}
