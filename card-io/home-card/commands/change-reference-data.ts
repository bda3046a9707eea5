/**
 * CHANGE REFERENCE DATA (ISO/IEC 7816-4): 00 24 00 81|82 10
 * old-PIN-block ‖ new-PIN-block. Answers as VERIFY for the old PIN; PIN2 also
 * needs PIN1 verified in this session (6982).
 */
import { commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { encodePinBlock, pinReference, type PinId } from '../pin-block.js';
import { checkStatus } from '../status-error.js';

export const CHANGE_REFERENCE_DATA = 'CHANGE REFERENCE DATA';

export function buildChangeReferenceData(which: PinId, oldPin: string, newPin: string): CommandApdu {
  const data = Buffer.concat([encodePinBlock(which, oldPin), encodePinBlock(which, newPin)]);
  return commandApdu(0x00, 0x24, 0x00, pinReference(which), data);
}

export function parseChangeReferenceData(response: ResponseApdu, which: PinId): void {
  checkStatus(response, { command: CHANGE_REFERENCE_DATA, credential: which });
}
