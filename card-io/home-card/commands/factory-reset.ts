/**
 * FACTORY RESET (proprietary, CLA 80): 80 FE 00 00. Needs admin
 * authentication (6982). Wipes PINs, PUK, key, certificate, anchors and money;
 * the life cycle goes back to personalization. Card id and admin key stay.
 */
import { commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { checkStatus } from '../status-error.js';

export const FACTORY_RESET = 'FACTORY RESET';

export function buildFactoryReset(): CommandApdu {
  return commandApdu(0x80, 0xfe, 0x00, 0x00);
}

export function parseFactoryReset(response: ResponseApdu): void {
  checkStatus(response, { command: FACTORY_RESET });
}
