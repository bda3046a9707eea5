/**
 * VERIFY (ISO/IEC 7816-4 §11.5.6): 00 20 00 81|82 08 PIN-block.
 * Wrong PIN: 63Cx (x tries left); blocked: 6983 even for the right PIN; PIN2
 * before PIN1 in this session: 6982; life cycle not operational: 6985.
 */
import { commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { encodePinBlock, pinReference, type PinId } from '../pin-block.js';
import { checkStatus } from '../status-error.js';

export const VERIFY = 'VERIFY';

export function buildVerifyPin(which: PinId, pin: string): CommandApdu {
  return commandApdu(0x00, 0x20, 0x00, pinReference(which), encodePinBlock(which, pin));
}

export function parseVerifyPin(response: ResponseApdu, which: PinId): void {
  checkStatus(response, { command: VERIFY, credential: which });
}
