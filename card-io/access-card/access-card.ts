/**
 * The access card (claims 7, 10): what a terminal does with the gateway.
 * Unlock the home card with PIN1 once per session, authorize a market with
 * PIN2 each time, receive the handed session, then talk to the market
 * directly on a resumed connection.
 */
import { AccessCardError } from './access-card-error.js';
import { type PendingConfirmationNotice, watchForConfirmation } from './confirmation-notice.js';
import { GatewayClient } from './gateway-client.js';
import { handedSessionFromJson, type HandedSession } from './handed-session.js';
import { MarketContexts } from './market-contexts.js';
import { marketRequest, type MarketRequest, type MarketResponse } from './market-request.js';
import type { TerminalProfile } from './terminal-profile.js';

/** `POST /v1/purse/quote` (API.md): what the terminal shows before it asks PIN2. */
/**
 * How long a pay or top-up may take, in ms: above a threshold the gateway waits
 * for a press on its confirm button first (API.md, "Confirmation on the
 * gateway"; 30 s by default), then the card and the market or issuer work.
 */
const PURSE_TIMEOUT_MS = 120_000;

export interface OrderQuote {
  /** The registered market name, and the market's host name as its certificate names it. */
  market: string;
  marketHost: string;
  orderId: string;
  amount: number;
  currency: string;
  status: string;
}

/** Where PINs come from: a TTY prompt or stdin lines; never argv or the environment. */
export type PinSource = (which: 'PIN1' | 'PIN2') => Promise<string>;

export interface AccessCardOptions {
  /**
   * When a command needs this terminal's card session and it is closed:
   * open it by asking PIN1 first (true, the default, for programs that hold
   * both PINs), or fail with AccessCardError card-locked without asking any
   * PIN (false, the CLI: only `terminal unlock` asks PIN1, so a script's
   * stdin lines always go to the PIN they were written for).
   */
  unlockWhenLocked?: boolean;
}

export class AccessCard {
  readonly gateway: GatewayClient;
  /** TLS contexts per market anchor, one each for this profile's life, not one per market connection. */
  readonly marketContexts = new MarketContexts();

  constructor(
    readonly profile: TerminalProfile,
    private readonly pins: PinSource,
    private readonly options: AccessCardOptions = {},
  ) {
    this.gateway = new GatewayClient(profile);
  }

  /** Close the connection to the gateway. */
  close(): void {
    this.gateway.close();
  }

  async unlock(): Promise<void> {
    await this.gateway.post('/v1/card/unlock', { pin1: await this.pins('PIN1') });
  }

  async lock(): Promise<void> {
    await this.gateway.post('/v1/card/lock', {});
  }

  /** Whether this terminal's card session is open on the gateway. */
  async isUnlocked(): Promise<boolean> {
    return (await this.gateway.get('/v1/whoami')).cardUnlocked === true;
  }

  /**
   * Ask the gateway to authenticate to `market` with the home card (PIN2).
   * The card session must be open (see AccessCardOptions.unlockWhenLocked),
   * so PINs are always asked in the order PIN1, PIN2.
   */
  async authorize(market: string): Promise<HandedSession> {
    await this.ensureUnlocked();
    return handedSessionFromJson(await this.gateway.post('/v1/authorize', { market, pin2: await this.pins('PIN2') }));
  }

  /** A second connection to the gateway, for reading its status while a request holds the first. */
  private watchClient(): GatewayClient {
    return new GatewayClient(this.profile, { timeoutMs: 5000 });
  }

  /** Open the card session first when needed and allowed (PIN1), else fail as card-locked before any PIN is asked. */
  private async ensureUnlocked(): Promise<void> {
    if (await this.isUnlocked()) return;
    if (this.options.unlockWhenLocked === false) {
      throw new AccessCardError('card-locked', 'This terminal\'s card session is closed: run "homegate terminal unlock" (asks PIN1) first');
    }
    await this.unlock();
  }

  async balance(): Promise<Record<string, unknown>> {
    await this.ensureUnlocked();
    return this.gateway.get('/v1/purse');
  }

  async history(): Promise<Record<string, unknown>> {
    return this.gateway.get('/v1/purse/history');
  }

  /** The order as the market states it (amount, currency, the market's name), through the gateway. */
  async quote(market: string, orderId: string): Promise<OrderQuote> {
    return (await this.gateway.post('/v1/purse/quote', { market, orderId })) as unknown as OrderQuote;
  }

  /**
   * Pay an order the terminal created at the market (claim 4): the order's
   * amount and the market's name are fetched and handed to `show` BEFORE
   * PIN2 is asked, and the signed pay request carries that amount, so the
   * gateway and the card debit nothing else (409 amount-mismatch).
   * `waiting` hears once when the gateway waits for its confirm button.
   */
  async pay(
    market: string,
    orderId: string,
    show: (q: OrderQuote) => void | Promise<void> = () => undefined,
    waiting?: (p: PendingConfirmationNotice) => void,
  ): Promise<Record<string, unknown>> {
    await this.ensureUnlocked();
    const q = await this.quote(market, orderId);
    await show(q);
    const paying = this.gateway.post(
      '/v1/purse/pay',
      { market, orderId, amount: q.amount, currency: q.currency, pin2: await this.pins('PIN2') },
      { timeoutMs: PURSE_TIMEOUT_MS },
    );
    return watchForConfirmation(() => this.watchClient(), paying, { kind: 'pay', amount: q.amount }, waiting);
  }

  /** Cancel a decision by its seq (claim 5): the gateway obtains the market's authorization. */
  async cancel(seq: number): Promise<Record<string, unknown>> {
    await this.ensureUnlocked();
    return this.gateway.post('/v1/purse/cancel', { seq });
  }

  /** Top up the purse (claim 6) through the gateway's e-money manager and the issuer; `waiting` as for pay. */
  async topup(amount: number, waiting?: (p: PendingConfirmationNotice) => void): Promise<Record<string, unknown>> {
    await this.ensureUnlocked();
    const loading = this.gateway.post('/v1/purse/topup', { amount }, { timeoutMs: PURSE_TIMEOUT_MS });
    return watchForConfirmation(() => this.watchClient(), loading, { kind: 'topup', amount }, waiting);
  }

  /** Authorize, then perform one request on the resumed session. */
  async request(market: string, r: MarketRequest): Promise<{ session: HandedSession; response: MarketResponse }> {
    const session = await this.authorize(market);
    return { session, response: await marketRequest(session, r, { contexts: this.marketContexts }) };
  }
}

export { AccessCardError };
export type { PendingConfirmationNotice };
