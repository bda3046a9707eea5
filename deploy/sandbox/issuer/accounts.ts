/**
 * The households' funding accounts at the sandbox issuer, in memory: a
 * balance in minor units, the household's cards, the loads committed and the
 * reservations made (PAYMENTS.md, "Issuer").
 *
 * A load is two-phase, so the household is never debited for money that did
 * not reach the card: `POST /v1/loads` RESERVES the amount (held, not
 * debited); only the card's signed load receipt commits it (debit); a void,
 * or the reservation's expiry on the issuer's clock, releases it.
 */
import { HttpError } from '../http-json.js';
import type { IssuerAccountSetup } from './options.js';

export interface IssuerLoad {
  /** The reservation this load committed. */
  id: string;
  cardId: string;
  /** Minor units. */
  amount: number;
  currency: string;
  /** When the load was committed (ISO 8601). */
  at: string;
  /** The account balance after this load. */
  accountBalance: number;
}

export type ReservationStatus = 'reserved' | 'committed' | 'voided' | 'expired';

export interface IssuerReservation {
  id: string;
  cardId: string;
  amount: number;
  currency: string;
  /** The card challenge the authorization is bound to (base64): the receipt must carry it. */
  challenge: string;
  status: ReservationStatus;
  createdAt: string;
  expiresAt: string;
}

/** The JSON of `GET /v1/account`. */
export interface IssuerAccount {
  household: string;
  /** Committed funds: loads debited. */
  balance: number;
  /** Funds held by open reservations; `balance − reserved` is what a new load may use. */
  reserved: number;
  currency: string;
  cards: string[];
  loads: IssuerLoad[];
  reservations: IssuerReservation[];
}

export class AccountBook {
  private readonly accounts = new Map<string, IssuerAccount>();
  private nextId = 1;

  constructor(setups: readonly IssuerAccountSetup[]) {
    for (const s of setups) {
      this.accounts.set(s.household, {
        household: s.household,
        balance: s.balance,
        reserved: 0,
        currency: s.currency,
        cards: [...s.cards],
        loads: [],
        reservations: [],
      });
    }
  }

  /** A copy of the account (expired reservations released first), or undefined for a household the issuer does not know. */
  snapshot(household: string, now: Date = new Date()): IssuerAccount | undefined {
    const a = this.accounts.get(household);
    if (a) this.expire(a, now);
    return a && { ...a, cards: [...a.cards], loads: a.loads.map((l) => ({ ...l })), reservations: a.reservations.map((r) => ({ ...r })) };
  }

  /** The household's account; 403 `household-unknown` when there is none. */
  require(household: string | undefined): IssuerAccount {
    const a = household === undefined ? undefined : this.accounts.get(household);
    if (a === undefined) throw new HttpError(403, 'household-unknown', `The issuer has no account for household ${household ?? '(no CN)'}`);
    return a;
  }

  /**
   * Check a load against the account: the card is the household's (403
   * `card-unknown`), the currency the account's (400 `bad-request`), and the
   * funds not already held suffice (402 `insufficient-account-funds`). Changes nothing.
   */
  check(account: IssuerAccount, cardId: string, amount: number, currency: string, now: Date): void {
    this.expire(account, now);
    if (!account.cards.includes(cardId)) throw new HttpError(403, 'card-unknown', `Card ${cardId} is not a card of household ${account.household}`);
    if (currency !== account.currency) throw new HttpError(400, 'bad-request', `The account is in ${account.currency}, not ${currency}`);
    const available = account.balance - account.reserved;
    if (amount > available) {
      throw new HttpError(402, 'insufficient-account-funds', `The account has ${available} available, less than ${amount}`);
    }
  }

  /** Hold a load that `check` passed until `now + ttlMs`. */
  reserve(account: IssuerAccount, r: { cardId: string; amount: number; challenge: Buffer }, now: Date, ttlMs: number): IssuerReservation {
    const reservation: IssuerReservation = {
      id: `load-${String(this.nextId++).padStart(6, '0')}`,
      cardId: r.cardId,
      amount: r.amount,
      currency: account.currency,
      challenge: r.challenge.toString('base64'),
      status: 'reserved',
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
    };
    account.reservations.push(reservation);
    account.reserved += r.amount;
    return { ...reservation };
  }

  /** The account's reservation `id` (after expiring what is due); 404 `load-unknown` otherwise. */
  reservation(account: IssuerAccount, id: string, now: Date): IssuerReservation {
    this.expire(account, now);
    const r = account.reservations.find((x) => x.id === id);
    if (!r) throw new HttpError(404, 'load-unknown', `No load ${id} for household ${account.household}`);
    return r;
  }

  /**
   * Debit a reservation whose receipt the caller verified. Idempotent: an
   * already committed one changes nothing. A voided or expired one is 409
   * `load-released` (its hold is gone; the household was not debited).
   */
  commit(account: IssuerAccount, r: IssuerReservation, now: Date): IssuerLoad {
    if (r.status === 'committed') return { ...account.loads.find((l) => l.id === r.id)! };
    if (r.status !== 'reserved') throw new HttpError(409, 'load-released', `Load ${r.id} is ${r.status}`);
    r.status = 'committed';
    account.reserved -= r.amount;
    account.balance -= r.amount;
    const load: IssuerLoad = { id: r.id, cardId: r.cardId, amount: r.amount, currency: r.currency, at: now.toISOString(), accountBalance: account.balance };
    account.loads.push(load);
    return { ...load };
  }

  /** Release a reservation. Idempotent for a released one; 409 `load-committed` once committed. */
  void(account: IssuerAccount, r: IssuerReservation): void {
    if (r.status === 'committed') throw new HttpError(409, 'load-committed', `Load ${r.id} was committed on the card's receipt and cannot be voided`);
    if (r.status !== 'reserved') return;
    r.status = 'voided';
    account.reserved -= r.amount;
  }

  /** Release every reservation whose time is up (the issuer's clock). */
  private expire(account: IssuerAccount, now: Date): void {
    for (const r of account.reservations) {
      if (r.status === 'reserved' && Date.parse(r.expiresAt) <= now.getTime()) {
        r.status = 'expired';
        account.reserved -= r.amount;
      }
    }
  }
}
