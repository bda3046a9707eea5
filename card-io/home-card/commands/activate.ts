/**
 * ACTIVATE FILE (ISO/IEC 7816-9), used to lock the card for use:
 * 00 44 00 00. Needs admin authentication, and in personalization a key,
 * certificate, PIN1, PIN2 and PUK (else 6985). Life cycle becomes operational.
 */
import { commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { checkStatus } from '../status-error.js';

export const ACTIVATE = 'ACTIVATE';

export function buildActivate(): CommandApdu {
  return commandApdu(0x00, 0x44, 0x00, 0x00);
}

export function parseActivate(response: ResponseApdu): void {
  checkStatus(response, { command: ACTIVATE });
}
