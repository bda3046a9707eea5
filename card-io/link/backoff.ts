/**
 * The reopen delay policy of the reconnecting link, as pure functions: the
 * link only asks "how long before attempt n?", so the policy is tested on the
 * numbers it computes, not on a wall clock.
 */
import { CardError, CardErrorCode } from '../errors.js';

export interface BackoffOptions {
  /**
   * Delay before the first reopen after the link was lost or an open failed, in ms.
   * Range 1..60000. Default 100: a pty or ser2net that restarts is usually back at once.
   */
  initialDelayMs?: number;
  /**
   * Upper bound of any delay, in ms; never exceeded, jitter included.
   * Range initialDelayMs..3600000. Default 5000: a replugged USB adapter is found within 5 s.
   */
  maxDelayMs?: number;
  /** Growth of the delay per consecutive failed attempt (unitless). Range 1..10. Default 2. */
  factor?: number;
  /**
   * Random spread (fraction of the delay): each delay is shortened by up to this
   * fraction, so the cap stays a hard bound. Range 0..1. Default 0.2. It keeps
   * gateways that lost a shared ser2net at the same moment from retrying in lockstep.
   */
  jitter?: number;
}

export type ResolvedBackoff = Readonly<Required<BackoffOptions>>;

export const DEFAULT_BACKOFF: ResolvedBackoff = {
  initialDelayMs: 100,
  maxDelayMs: 5000,
  factor: 2,
  jitter: 0.2,
};

/**
 * Fills in defaults and validates; throws one CardError(InvalidArgument) that
 * lists every invalid option at once (context.errors), not just the first.
 */
export function resolveBackoff(options: BackoffOptions = {}): ResolvedBackoff {
  const r: ResolvedBackoff = { ...DEFAULT_BACKOFF, ...definedOnly(options) };
  const errors: string[] = [];
  const check = (name: keyof BackoffOptions, min: number, max: number): void => {
    const v = r[name];
    if (!Number.isFinite(v) || v < min || v > max) errors.push(`${name} must be in ${min}..${max}, got ${v}`);
  };
  check('initialDelayMs', 1, 60_000);
  check('maxDelayMs', Math.max(1, r.initialDelayMs), 3_600_000);
  check('factor', 1, 10);
  check('jitter', 0, 1);
  if (errors.length > 0) {
    throw new CardError(CardErrorCode.InvalidArgument, `Invalid backoff options: ${errors.join('; ')}`, { errors });
  }
  return r;
}

/**
 * Delay before reopen attempt `attempt` (0 = the first after a loss or failure), in ms:
 * min(maxDelayMs, initialDelayMs * factor^attempt), shortened by up to `jitter`.
 * `random` returns a number in [0, 1), as Math.random does.
 */
export function backoffDelay(attempt: number, backoff: ResolvedBackoff, random: () => number = Math.random): number {
  // Cap the exponent so factor^attempt cannot overflow to Infinity after days of retries.
  const exponent = Math.min(Math.max(0, attempt), 64);
  const base = Math.min(backoff.maxDelayMs, backoff.initialDelayMs * backoff.factor ** exponent);
  return Math.max(1, Math.round(base * (1 - backoff.jitter * random())));
}

function definedOnly(options: BackoffOptions): BackoffOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as BackoffOptions;
}
