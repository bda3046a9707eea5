/**
 * Reading the purse: READ RECORD (ISO/IEC 7816-4 §11.3.3, P2 04 = "record
 * number P1") for the signed decision records, 1 = newest, and the GET DATA
 * values `DF40` (purse status) and `DF42` (the log's seq numbers, newest
 * first), `DF43` (the latest LOAD's signed receipt). Anyone may read them; records carry the card's signature.
 */
import { SW } from '../apdu/status-words.js';
import type { CommandApdu } from '../apdu/command-apdu.js';
import { ok, status, type AppletContext, type Reply } from './applet-context.js';
import type { CardState } from './card-state.js';
import { encodeSignedRecord } from './purse-records.js';
import { u32, u64 } from './purse-tlv.js';

export const PurseDataTag = {
  Status: 0xdf40,
  Log: 0xdf42,
  LastLoadReceipt: 0xdf43,
  IssuerKey: 0xdf14,
  Parameters: 0xdf15,
  InitialBalance: 0xdf16,
} as const;

const RECORD_NUMBER_IN_P1 = 0x04;

/** READ RECORD: 00 B2 P1 04, Le 00. No such record (P1 0 included): 6A83. */
export function readRecord(cmd: CommandApdu, ctx: AppletContext): Reply {
  if (cmd.p2 !== RECORD_NUMBER_IN_P1) return status(SW.INCORRECT_P1P2);
  if (cmd.data.length !== 0) return status(SW.WRONG_LENGTH);
  const { purse, cardId } = ctx.state;
  if (purse.currency === null) return status(SW.CONDITIONS_NOT_SATISFIED);
  const n = cmd.p1;
  if (n < 1 || n > purse.log.length) return status(SW.RECORD_NOT_FOUND);
  return ok(encodeSignedRecord(cardId, purse.log[purse.log.length - n]!));
}

/**
 * DF40: balance (8) ‖ currency (3) ‖ counter (4) ‖ maximum balance (8) ‖
 * per-payment limit (8) ‖ daily limit (8) ‖ spent today (8) ‖ per-load
 * limit (8) = 55 bytes (a card before the per-load limit answered the first 47).
 * Spent-today is as stored: the card has no clock, so it cannot know a new
 * day began until a PAY says so.
 */
function purseStatus(s: CardState): Buffer | undefined {
  const p = s.purse;
  if (p.currency === null) return undefined;
  return Buffer.concat([
    u64(p.balance),
    Buffer.from(p.currency, 'latin1'),
    u32(p.counter),
    u64(p.maxBalance),
    u64(p.perPaymentLimit),
    u64(p.dailyLimit),
    u64(p.spentToday),
    u64(p.perLoadLimit),
  ]);
}

/** DF42: number of records (1) ‖ their seq numbers (4 each), newest first. */
function logSeqs(s: CardState): Buffer | undefined {
  const log = s.purse.log;
  if (s.purse.currency === null) return undefined;
  return Buffer.concat([Buffer.from([log.length]), ...[...log].reverse().map((r) => u32(r.seq))]);
}

/** The purse's GET DATA value for `tag`; undefined when not a purse tag or there is no purse (6A88). */
export function purseDataObject(s: CardState, tag: number): Buffer | undefined {
  if (tag === PurseDataTag.Status) return purseStatus(s);
  if (tag === PurseDataTag.Log) return logSeqs(s);
  // DF43: the latest LOAD's signed receipt; empty before any LOAD.
  if (tag === PurseDataTag.LastLoadReceipt) return s.purse.currency === null ? undefined : Buffer.from(s.purse.lastLoadReceipt ?? Buffer.alloc(0));
  return undefined;
}
