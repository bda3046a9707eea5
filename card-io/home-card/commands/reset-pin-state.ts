/**
 * VERIFY with P1 FF (ISO/IEC 7816-4 §11.5.6): 00 20 FF 81|82, no data. Clears
 * the PIN's verified state for this session (clearing PIN1 also clears the
 * release and the verified market, PROTOCOL.md "volatile state").
 */
import { commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { pinReference, type PinId } from '../pin-block.js';
import { checkStatus } from '../status-error.js';
import { VERIFY } from './verify-pin.js';

export function buildResetPinState(which: PinId): CommandApdu {
  return commandApdu(0x00, 0x20, 0xff, pinReference(which));
}

export function parseResetPinState(response: ResponseApdu, which: PinId): void {
  checkStatus(response, { command: VERIFY, credential: which });
}
