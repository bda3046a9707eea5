/**
 * The purse's GET DATA objects (PROTOCOL.md, "GET DATA tags for the purse"):
 * 00 CA DF 40 00 the purse status, 00 CA DF 42 00 the log's seq numbers. A
 * card without a purse answers 6A88 (NotFound).
 *
 * DF40, 55 bytes: balance (8) ‖ currency (3) ‖ counter (4) ‖ maximum balance
 * (8) ‖ per-payment limit (8) ‖ daily limit (8) ‖ spent today (8) ‖ per-load
 * limit (8); a card without the per-load limit answers the first 47.
 * DF42: number of records (1) ‖ their seq numbers (4 each), newest first.
 * DF43: the latest LOAD's signed receipt (load-receipt.ts), empty before any.
 */
import { MAX_SHORT_NE, commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { decodeCurrency, decodeU32, decodeU64, type MinorUnits } from '../purse-encoding.js';
import { parseLoadReceipt, type LoadReceipt } from '../load-receipt.js';
import { checkStatus } from '../status-error.js';
import { malformedResponse } from './data-objects.js';
import { GET_DATA } from './get-data.js';

export const PurseDataTag = { Status: 0xdf40, Log: 0xdf42, LastLoadReceipt: 0xdf43 } as const;

/** Without the per-load limit (an older card), and with it. */
const STATUS_LENGTH = 47;
const STATUS_WITH_LOAD_LIMIT_LENGTH = 55;

/**
 * Amounts in minor units: a number up to 2^53 − 1, a bigint above (see
 * purse-encoding.ts). `spentToday` is as the card stored it at the latest
 * PAY: the card has no clock, so a new day shows only after the next PAY.
 */
export interface PurseStatus {
  balance: MinorUnits;
  currency: string;
  /** Transaction counter: +1 for every PAY, CANCEL and LOAD. */
  counter: number;
  maxBalance: MinorUnits;
  perPaymentLimit: MinorUnits;
  dailyLimit: MinorUnits;
  spentToday: MinorUnits;
  /** The most one LOAD may credit (LOAD answers 6911 above it); undefined from a card that does not report it. */
  perLoadLimit?: MinorUnits;
}

function getData(tag: number): CommandApdu {
  return commandApdu(0x00, 0xca, tag >> 8, tag & 0xff, Buffer.alloc(0), MAX_SHORT_NE);
}

export function buildPurseStatus(): CommandApdu {
  return getData(PurseDataTag.Status);
}

export function parsePurseStatus(response: ResponseApdu): PurseStatus {
  checkStatus(response, { command: GET_DATA });
  const v = Buffer.from(response.data);
  if (v.length !== STATUS_LENGTH && v.length !== STATUS_WITH_LOAD_LIMIT_LENGTH) throw malformedResponse(GET_DATA, 'purse status', v.length);
  const amount = (at: number, what: string) => decodeU64(v.subarray(at, at + 8), what);
  return {
    balance: amount(0, 'balance'),
    currency: decodeCurrency(v.subarray(8, 11)),
    counter: decodeU32(v.subarray(11, 15), 'counter'),
    maxBalance: amount(15, 'maximum balance'),
    perPaymentLimit: amount(23, 'per-payment limit'),
    dailyLimit: amount(31, 'daily limit'),
    spentToday: amount(39, 'spent today'),
    ...(v.length === STATUS_WITH_LOAD_LIMIT_LENGTH ? { perLoadLimit: amount(47, 'per-load limit') } : {}),
  };
}

export function buildPurseLog(): CommandApdu {
  return getData(PurseDataTag.Log);
}

/** The seq numbers of the records on the card, newest first. */
export function parsePurseLog(response: ResponseApdu): number[] {
  checkStatus(response, { command: GET_DATA });
  const v = Buffer.from(response.data);
  if (v.length < 1 || v.length !== 1 + 4 * v[0]!) throw malformedResponse(GET_DATA, 'purse log', v.length);
  const seqs: number[] = [];
  for (let at = 1; at < v.length; at += 4) seqs.push(v.readUInt32BE(at));
  return seqs;
}

export function buildLastLoadReceipt(): CommandApdu {
  return getData(PurseDataTag.LastLoadReceipt);
}

/**
 * DF43: the signed receipt of the card's latest LOAD, or undefined before any
 * LOAD. What settles a top-up whose LOAD answer was lost: its challenge names
 * the authorization it came from.
 */
export function parseLastLoadReceipt(response: ResponseApdu): LoadReceipt | undefined {
  checkStatus(response, { command: GET_DATA });
  return response.data.length === 0 ? undefined : parseLoadReceipt(response.data);
}
