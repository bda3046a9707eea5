/**
 * SELECT by DF name (ISO/IEC 7816-4, SELECT, P1 04): 00 A4 04 00 Lc AID 00.
 * Answers the FCI template 6F { 84 AID, DF01 card id, DF02 version, DF05 life
 * cycle }. Selecting also starts a new card session (PROTOCOL.md).
 */
import { commandApdu, findTlv, parseTlvs, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { checkStatus } from '../status-error.js';
import { DataTag, decodeCardId, decodeLifeCycle, decodeVersion, malformedResponse, type LifeCycle } from './data-objects.js';

export const SELECT = 'SELECT';

/** The home-card applet AID: F0 (proprietary RID category, ISO/IEC 7816-5) "HOMEGATE" 01. */
export const HOME_CARD_AID: Buffer = Buffer.from('f0484f4d454741544501', 'hex');

const FCI_TEMPLATE = 0x6f;
const FCI_AID = 0x84;

export interface SelectInfo {
  /** 8 bytes as 16 lower-case hex digits. */
  cardId: string;
  /** Applet version "major.minor", e.g. "1.0". */
  version: string;
  lifeCycle: LifeCycle;
}

export function buildSelect(): CommandApdu {
  return commandApdu(0x00, 0xa4, 0x04, 0x00, HOME_CARD_AID, 256);
}

export function parseSelect(response: ResponseApdu): SelectInfo {
  checkStatus(response, { command: SELECT });
  const fci = findTlv(parseTlvs(response.data), FCI_TEMPLATE);
  if (!fci) throw malformedResponse(SELECT, 'FCI (no 6F template)', response.data.length);
  const items = parseTlvs(fci);
  const aid = findTlv(items, FCI_AID);
  if (aid && !aid.equals(HOME_CARD_AID)) throw malformedResponse(SELECT, 'FCI (another AID)', aid.length);
  const field = (tag: number, what: string): Buffer => {
    const value = findTlv(items, tag);
    if (!value) throw malformedResponse(SELECT, `FCI (no ${what})`, fci.length);
    return value;
  };
  return {
    cardId: decodeCardId(field(DataTag.CardId, 'card id'), SELECT),
    version: decodeVersion(field(DataTag.Version, 'version'), SELECT),
    lifeCycle: decodeLifeCycle(field(DataTag.LifeCycle, 'life cycle'), SELECT),
  };
}
