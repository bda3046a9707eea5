/**
 * The households' funding accounts at the sandbox issuer, in memory: a
 * balance in minor units, the household's cards, and every load made. A load
 * debits the account by what goes onto the card (PAYMENTS.md, "Issuer").
 */
import { HttpError } from '../http-json.js';
import type { IssuerAccountSetup } from './options.js';

export interface IssuerLoad {
  cardId: string;
  /** Minor units. */
  amount: number;
  currency: string;
  /** When the authorization was signed (ISO 8601). */
  at: string;
  /** The account balance after this load. */
  accountBalance: number;
}

/** The JSON of `GET /v1/account`. */
export interface IssuerAccount {
  household: string;
  balance: number;
  currency: string;
  cards: string[];
  loads: IssuerLoad[];
}

export class AccountBook {
  private readonly accounts = new Map<string, IssuerAccount>();

  constructor(setups: readonly IssuerAccountSetup[]) {
    for (const s of setups) {
      this.accounts.set(s.household, { household: s.household, balance: s.balance, currency: s.currency, cards: [...s.cards], loads: [] });
    }
  }

  /** A copy of the account, or undefined for a household the issuer does not know. */
  snapshot(household: string): IssuerAccount | undefined {
    const a = this.accounts.get(household);
    return a && { ...a, cards: [...a.cards], loads: a.loads.map((l) => ({ ...l })) };
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
   * funds suffice (402 `insufficient-account-funds`). Changes nothing.
   */
  check(account: IssuerAccount, cardId: string, amount: number, currency: string): void {
    if (!account.cards.includes(cardId)) throw new HttpError(403, 'card-unknown', `Card ${cardId} is not a card of household ${account.household}`);
    if (currency !== account.currency) throw new HttpError(400, 'bad-request', `The account is in ${account.currency}, not ${currency}`);
    if (amount > account.balance) {
      throw new HttpError(402, 'insufficient-account-funds', `The account holds ${account.balance}, less than ${amount}`);
    }
  }

  /** Debit a load that `check` passed and record it. */
  debit(account: IssuerAccount, cardId: string, amount: number, at: Date): IssuerLoad {
    account.balance -= amount;
    const load = { cardId, amount, currency: account.currency, at: at.toISOString(), accountBalance: account.balance };
    account.loads.push(load);
    return { ...load };
  }
}
