/**
 * PUT DATA for the purse (PROTOCOL.md, "PUT DATA tags for the purse"), admin
 * authenticated, personalization only (6985 after ACTIVATE):
 * 00 DA DF 14 the issuer's load-signing key (SPKI DER, P-256),
 * 00 DA DF 15 currency (3) ‖ maximum balance (8) ‖ per-payment limit (8) ‖ daily limit (8)
 *   [‖ per-load limit (8)],
 * 00 DA DF 16 the initial balance (8), after DF15; above the maximum: 6911.
 */
import { KeyObject } from 'node:crypto';
import { commandApdu, type CommandApdu } from '../../apdu/index.js';
import { CardError, CardErrorCode } from '../../errors.js';
import { encodeAmount, encodeCurrency, type MinorUnits } from '../purse-encoding.js';
import { requireBytes } from './arguments.js';

export const PurseSetupTag = { IssuerKey: 0xdf14, Parameters: 0xdf15, InitialBalance: 0xdf16 } as const;

export interface PurseParameters {
  /** 3 ASCII letters, e.g. "EUR". */
  currency: string;
  /** Minor units; LOAD refuses (6911) beyond it. A refund may exceed it. */
  maxBalance: MinorUnits;
  perPaymentLimit: MinorUnits;
  /** Per Unix day (UTC), by the times PAY is given. */
  dailyLimit: MinorUnits;
  /** The most one LOAD may credit (6911 above it). Omitted: the maximum balance. */
  perLoadLimit?: MinorUnits;
}

function putData(tag: number, value: Buffer): CommandApdu {
  return commandApdu(0x00, 0xda, tag >> 8, tag & 0xff, value);
}

/** DF14: the issuer's load-signing public key, as a KeyObject or SPKI DER. */
export function buildPutIssuerKey(key: KeyObject | Uint8Array): CommandApdu {
  if (key instanceof KeyObject) {
    if (key.type === 'private') {
      throw new CardError(CardErrorCode.InvalidArgument, 'issuer key must be the public key', { argument: 'issuer key' });
    }
    return putData(PurseSetupTag.IssuerKey, key.export({ type: 'spki', format: 'der' }));
  }
  return putData(PurseSetupTag.IssuerKey, requireBytes(key, 'issuer key', { max: 255 }));
}

export function buildPutPurseParameters(p: PurseParameters): CommandApdu {
  const value = Buffer.concat([
    encodeCurrency(p.currency),
    encodeAmount(p.maxBalance, 'maximum balance'),
    encodeAmount(p.perPaymentLimit, 'per-payment limit'),
    encodeAmount(p.dailyLimit, 'daily limit'),
    ...(p.perLoadLimit === undefined ? [] : [encodeAmount(p.perLoadLimit, 'per-load limit')]),
  ]);
  return putData(PurseSetupTag.Parameters, value);
}

export function buildPutInitialBalance(balance: MinorUnits): CommandApdu {
  return putData(PurseSetupTag.InitialBalance, encodeAmount(balance, 'initial balance'));
}
