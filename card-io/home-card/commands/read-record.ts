/**
 * READ RECORD (ISO/IEC 7816-4 §11.3.3): 00 B2 P1 04, Le, P2 04 meaning
 * "record number P1". Record 1 is the newest decision; the card keeps the
 * last 32. No such record: 6A83 (NotFound).
 */
import { MAX_EXTENDED_NE, commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { CardError, CardErrorCode } from '../../errors.js';
import { parseSignedRecord, type SignedRecord } from '../decision-record.js';
import { checkStatus } from '../status-error.js';

export const READ_RECORD = 'READ RECORD';

/** `n`: 1 (newest) to 255. */
export function buildReadRecord(n: number): CommandApdu {
  if (!Number.isInteger(n) || n < 1 || n > 255) {
    throw new CardError(CardErrorCode.InvalidArgument, 'record number must be 1 to 255', { argument: 'record number' });
  }
  return commandApdu(0x00, 0xb2, n, 0x04, Buffer.alloc(0), MAX_EXTENDED_NE);
}

export function parseReadRecord(response: ResponseApdu): SignedRecord {
  checkStatus(response, { command: READ_RECORD });
  return parseSignedRecord(response.data);
}
