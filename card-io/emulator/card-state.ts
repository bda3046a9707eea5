/**
 * The home card's state, as PROTOCOL.md ("Persistent state ... and volatile
 * state") lists it: `CardState` is what the card image holds and survives
 * power loss; `CardSession` lives from power-up or SELECT to the next one.
 *
 * `CardState` is treated as immutable: a command builds the next state and
 * commits it; only a committed state becomes the applet's state, so a failed
 * write (6581) leaves the card exactly as it was.
 */
import { EMPTY_PURSE, type PurseState } from './purse-state.js';

export const HOME_CARD_AID = Buffer.from('F0484F4D454741544501', 'hex');
/** Applet version 1.0 (GET DATA DF02, FCI DF02). */
export const APPLET_VERSION = Buffer.from([0x01, 0x00]);

export const LifeCycle = { Personalization: 0x03, Operational: 0x05 } as const;
export type LifeCycle = (typeof LifeCycle)[keyof typeof LifeCycle];

export const DEFAULT_TRIES = { pin1: 3, pin2: 3, puk: 10, admin: 10 } as const;
export const MAX_TRUST_ANCHORS = 8;
export const ADMIN_KEY_LENGTH = 32;
export const CARD_ID_LENGTH = 8;

export interface RetryCounter {
  readonly left: number;
  readonly max: number;
}

/** A PIN or PUK as stored: salted hash, never the digits. */
export interface PinRecord {
  readonly salt: Buffer;
  readonly hash: Buffer;
  readonly tries: RetryCounter;
}

/** The card key pair; the private key exists only here and in the image file. */
export interface CardKeyPair {
  readonly privateKeyPkcs8: Buffer;
  readonly publicKeySpki: Buffer;
}

export interface CardState {
  readonly cardId: Buffer;
  readonly lifeCycle: LifeCycle;
  readonly adminKey: Buffer;
  readonly adminTries: RetryCounter;
  readonly pin1: PinRecord | null;
  readonly pin2: PinRecord | null;
  readonly puk: PinRecord | null;
  readonly keyPair: CardKeyPair | null;
  /** Card certificate DER (PUT DATA 7F21). */
  readonly certificate: Buffer | null;
  /** Trust anchors, DER certificates, at most MAX_TRUST_ANCHORS. */
  readonly anchors: readonly Buffer[];
  /** The purse; currency null when it was never set up. */
  readonly purse: PurseState;
}

export type PinRef = 'pin1' | 'pin2' | 'puk';
export type CounterRef = PinRef | 'admin';

/** A factory-fresh card: personalization life cycle, nothing set but id and admin key. */
export function factoryFreshState(cardId: Buffer, adminKey: Buffer): CardState {
  return {
    cardId,
    lifeCycle: LifeCycle.Personalization,
    adminKey,
    adminTries: { left: DEFAULT_TRIES.admin, max: DEFAULT_TRIES.admin },
    pin1: null,
    pin2: null,
    puk: null,
    keyPair: null,
    certificate: null,
    anchors: [],
    purse: EMPTY_PURSE,
  };
}

/** FACTORY RESET: everything goes (money too) but the card id, the admin key and its counter. */
export function factoryResetState(s: CardState): CardState {
  return { ...factoryFreshState(s.cardId, s.adminKey), adminTries: s.adminTries };
}

/** The counter of a PIN or of the admin key; an unset PIN reads as full. */
export function getCounter(s: CardState, ref: CounterRef): RetryCounter {
  if (ref === 'admin') return s.adminTries;
  return s[ref]?.tries ?? { left: DEFAULT_TRIES[ref], max: DEFAULT_TRIES[ref] };
}

/** The state with one counter set to `left`; the PIN must be set. */
export function withCounter(s: CardState, ref: CounterRef, left: number): CardState {
  if (ref === 'admin') return { ...s, adminTries: { ...s.adminTries, left } };
  const pin = s[ref];
  if (pin === null) throw new Error(`withCounter: ${ref} is not set`);
  return { ...s, [ref]: { ...pin, tries: { ...pin.tries, left } } };
}

/** What was verified in this card session (PROTOCOL.md, volatile state). */
export interface VerifiedMarket {
  readonly dnsNames: readonly string[];
  /** The time given to VERIFY CERTIFICATE, Unix seconds. */
  readonly time: number;
}

export interface CardSession {
  pin1Verified: boolean;
  /** PIN2 verified: good for exactly one security operation. */
  released: boolean;
  verifiedMarket: VerifiedMarket | null;
  adminAuthenticated: boolean;
  /** The pending GET CHALLENGE value, used once by EXTERNAL AUTHENTICATE. */
  challenge: Buffer | null;
  /** The pending GET LOAD CHALLENGE value, used up by any LOAD attempt. */
  loadChallenge: Buffer | null;
}

export function newSession(): CardSession {
  return { pin1Verified: false, released: false, verifiedMarket: null, adminAuthenticated: false, challenge: null, loadChallenge: null };
}

/** Using or clearing the release also clears the verified market. */
export function clearRelease(s: CardSession): void {
  s.released = false;
  s.verifiedMarket = null;
}

/** Clearing PIN1 also clears the release and the verified market. */
export function clearPin1(s: CardSession): void {
  s.pin1Verified = false;
  clearRelease(s);
}
