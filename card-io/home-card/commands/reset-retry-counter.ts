/**
 * RESET RETRY COUNTER (ISO/IEC 7816-4, P1 00: reset code and new reference data): 00 2C 00 81|82 10
 * PUK-block ‖ new-PIN-block. A wrong PUK answers 63Cx with the PUK's tries
 * left, a blocked PUK 6983; so errors name the PUK, not the PIN being reset.
 */
import { commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { encodePinBlock, pinReference, type PinId } from '../pin-block.js';
import { checkStatus } from '../status-error.js';

export const RESET_RETRY_COUNTER = 'RESET RETRY COUNTER';

export function buildResetRetryCounter(which: PinId, puk: string, newPin: string): CommandApdu {
  const data = Buffer.concat([encodePinBlock('PUK', puk), encodePinBlock(which, newPin)]);
  return commandApdu(0x00, 0x2c, 0x00, pinReference(which), data);
}

export function parseResetRetryCounter(response: ResponseApdu): void {
  checkStatus(response, { command: RESET_RETRY_COUNTER, credential: 'PUK' });
}
