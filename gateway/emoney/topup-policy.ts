/**
 * The gateway's own top-up policy (claim 6): a monthly limit per household
 * and per terminal, counted from the archived loads of the current month
 * (UTC). The card enforces its maximum balance on top of this.
 */
import type { HistoryEntry } from '../history/index.js';
import { ApiError } from '../terminal-api/api-error.js';

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
    throw new ApiError(409, 'topup-limit', `The household's monthly top-up limit would be exceeded (${household} of ${limits.householdMonthly} used)`, { used: household, limit: limits.householdMonthly });
  }
  if (terminal + amount > limits.terminalMonthly) {
    throw new ApiError(409, 'topup-limit', `This terminal's monthly top-up limit would be exceeded (${terminal} of ${limits.terminalMonthly} used)`, { used: terminal, limit: limits.terminalMonthly });
  }
}

export function startOfMonthUtc(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}
