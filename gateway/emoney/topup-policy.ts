/**
 * The gateway's own top-up policy (claim 6): a monthly limit per household
 * and per terminal, counted from the archived loads of the current month
 * (UTC); and the card's maximum balance, read from the card before the
 * issuer is asked (the card enforces it again on LOAD).
 */
import type { PurseStatus } from '../../card-io/home-card/commands/index.js';
import type { HistoryEntry } from '../history/index.js';
import { EmoneyError } from './emoney-error.js';

export interface TopupLimits {
  /** Minor units per calendar month (UTC) for the whole household. */
  householdMonthly: number;
  /** Minor units per calendar month (UTC) for one terminal. */
  terminalMonthly: number;
}

export function checkTopup(loadsThisMonth: readonly HistoryEntry[], terminalId: string, amount: number, limits: TopupLimits): void {
  const household = loadsThisMonth.reduce((s, e) => s + e.amount, 0);
  const terminal = loadsThisMonth.filter((e) => e.terminalId === terminalId).reduce((s, e) => s + e.amount, 0);
  if (household + amount > limits.householdMonthly) {
    throw new EmoneyError('topup-limit', `The household's monthly top-up limit would be exceeded (${household} of ${limits.householdMonthly} used)`, {
      used: household,
      limit: limits.householdMonthly,
    });
  }
  if (terminal + amount > limits.terminalMonthly) {
    throw new EmoneyError('topup-limit', `This terminal's monthly top-up limit would be exceeded (${terminal} of ${limits.terminalMonthly} used)`, {
      used: terminal,
      limit: limits.terminalMonthly,
    });
  }
}

/**
 * The card's own limits, checked before the issuer is asked, so a top-up the
 * card would refuse holds no funds at the issuer: balance + amount must stay
 * within the purse's maximum balance, and the amount within its per-load
 * limit when the card reports one (the card answers 6911 otherwise).
 */
export function checkCardLimits(status: Pick<PurseStatus, 'balance' | 'maxBalance' | 'perLoadLimit'>, amount: number): void {
  if (status.perLoadLimit !== undefined && BigInt(amount) > BigInt(status.perLoadLimit)) {
    throw new EmoneyError('limit-exceeded', `The home card loads at most ${status.perLoadLimit} at a time`, { perLoadLimit: Number(status.perLoadLimit) });
  }
  const room = BigInt(status.maxBalance) - BigInt(status.balance);
  if (BigInt(amount) > room) {
    throw new EmoneyError('limit-exceeded', `The home card would go over its maximum balance (room for ${room} more)`, {
      room: Number(room),
      maxBalance: Number(status.maxBalance),
    });
  }
}

export function startOfMonthUtc(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}
