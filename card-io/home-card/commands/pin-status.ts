/**
 * VERIFY without data, the status query (ISO/IEC 7816-4 §11.5.6): 00 20 00 81|82.
 * 9000 when the PIN is verified in this session, 63Cx when not (x tries left),
 * 6983 when blocked. It never costs a try.
 */
import { SW, commandApdu, isWrongPin, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { pinReference, type PinId } from '../pin-block.js';
import { statusError } from '../status-error.js';
import { VERIFY } from './verify-pin.js';

export interface PinStatusAnswer {
  verified: boolean;
  /** From 63Cx; undefined when verified (9000 carries no counter). */
  triesLeft: number | undefined;
  blocked: boolean;
}

export function buildPinStatusQuery(which: PinId): CommandApdu {
  return commandApdu(0x00, 0x20, 0x00, pinReference(which));
}

export function parsePinStatusQuery(response: ResponseApdu, which: PinId): PinStatusAnswer {
  const { sw } = response;
  if (sw === SW.OK) return { verified: true, triesLeft: undefined, blocked: false };
  if (isWrongPin(sw)) {
    const triesLeft = sw & 0x0f;
    return { verified: false, triesLeft, blocked: triesLeft === 0 };
  }
  if (sw === SW.AUTH_METHOD_BLOCKED) return { verified: false, triesLeft: 0, blocked: true };
  throw statusError(response, { command: VERIFY, credential: which });
}
