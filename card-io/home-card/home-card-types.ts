/**
 * The types HomeCard's methods take and return (home-card.ts), kept apart so
 * the class stays readable. Re-exported from home-card.ts and index.ts.
 */
import type { KeyObject } from 'node:crypto';
import type * as c from './commands/index.js';
import type { MinorUnits } from './purse-encoding.js';

export interface CardInfo extends c.SelectInfo {
  retryCounters: c.RetryCounters;
  /** The card certificate (DER); undefined before one is put. */
  certificate: Buffer | undefined;
  /** Its subject, RDNs joined by ", " (e.g. "CN=Home card 01, O=Household"); undefined without a certificate. */
  certificateSubject: string | undefined;
  /** The card public key; undefined before a key pair is generated. */
  publicKey: KeyObject | undefined;
}

export interface PinStatus {
  /** Verified in the current card session. */
  verified: boolean;
  triesLeft: number;
  blocked: boolean;
}

export interface NewPins {
  pin1: string;
  pin2: string;
  puk: string;
}

/** The purse set up at personalization (PUT DATA DF14, DF15, DF16). */
export interface PurseSetup extends c.PurseParameters {
  /** The issuer's load-signing public key (P-256): a KeyObject or SPKI DER. */
  issuerLoadKey: KeyObject | Uint8Array;
  /** Starting balance, minor units, at most maxBalance. Default: none put (0). */
  initialBalance?: MinorUnits;
}
