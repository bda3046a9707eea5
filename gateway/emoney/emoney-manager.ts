/**
 * The e-money manager (claims 4, 5, 6): pay, cancel and top up with the
 * purse on the home card, archive every event, mail it to the terminal's
 * owner, and present decisions to the market until it acknowledges them.
 *
 * The card is authoritative for money and commits each change atomically;
 * the gateway only archives. Order of work for a payment: intent journal →
 * card PAY → archive (presented: false) → notification → presentation. A
 * crash anywhere leaves a state that the start-up reconciliation completes.
 */
import { isCardErrorInBand } from '../../card-io/errors.js';
import type { SignedRecord } from '../../card-io/home-card/decision-record.js';
import type { Logger } from '../../card-io/log.js';
import type { CardService } from '../card/card-service.js';
import type { CardSessions } from '../card/card-sessions.js';
import type { HistoryEntry, HistoryStore } from '../history/index.js';
import { createNotification, type Notification } from '../notify/notification.js';
import type { MarketRecord, Registry } from '../registry/index.js';
import type { TerminalIdentity } from '../terminal-api/routes.js';
import { toEmoneyError, withCard } from './emoney-errors.js';
import type { IssuerClient } from './issuer-client.js';
import { MarketPayments, servername } from './market-payments.js';
import type { LoadIntents, PaymentIntents } from './payment-intents.js';
import { checkTopup, startOfMonthUtc, type TopupLimits } from './topup-policy.js';
import { ApiError } from '../terminal-api/api-error.js';
import { marketTarget, type ProxyState } from '../proxy/index.js';

export interface Mailer {
  notify(n: Notification): Promise<void>;
}

export interface EmoneyManagerOptions {
  registry: Registry;
  cards: CardService;
  sessions: CardSessions;
  history: HistoryStore;
  intents: PaymentIntents;
  /** Top-ups in flight (see LoadIntents); without it a load whose answer is lost is not archived. */
  loads?: LoadIntents;
  mailer: Mailer;
  proxyState: ProxyState;
  issuer: IssuerClient | undefined;
  limits: TopupLimits;
  logger: Logger;
  /** Market calls time out after this many ms. Default 5000. */
  marketTimeoutMs?: number;
  clock?: () => number;
}

export function recordFields(r: SignedRecord) {
  return { seq: r.seq, cardId: r.cardId, market: r.market, orderId: r.orderId, amount: Number(r.amount), currency: r.currency, time: r.time.toISOString(), status: r.status };
}

export class EmoneyManager {
  readonly payments: MarketPayments;
  private readonly now: () => number;

  constructor(private readonly o: EmoneyManagerOptions) {
    this.payments = new MarketPayments(o.marketTimeoutMs ?? 5000);
    this.now = o.clock ?? Date.now;
  }

  private market(name: string): MarketRecord {
    const m = this.o.registry.getMarket(name);
    if (!m) throw new ApiError(404, 'market-unknown', `No market named ${name} is registered`);
    return m;
  }

  private marketByDnsName(dns: string): MarketRecord | undefined {
    return this.o.registry.listMarkets().find((m) => servername(m) === dns || m.host === dns);
  }

  async pay(t: TerminalIdentity, marketName: string, orderId: string, pin2: string) {
    const m = this.market(marketName);
    const cardCert = this.o.cards.certificate;
    if (!cardCert) throw new ApiError(503, 'card-absent', 'The home card is not available');
    try {
      const order = await this.payments.order(m, orderId);
      if (order.status !== 'open') throw new ApiError(409, 'order-not-payable', `Order ${orderId} is ${order.status}`);
      const target = marketTarget(m);
      const { chain } = await this.o.proxyState.chains.get({ market: target, connectTimeoutMs: this.o.marketTimeoutMs ?? 5000, logger: this.o.logger, now: this.now() });
      await this.o.intents.record({ terminalId: t.id, mail: t.mail, market: servername(m), orderId });
      const record = await withCard(this.o.sessions, t.id, async (card) => {
        await this.o.sessions.verifyPin2(t.id, card, pin2);
        await card.verifyCertificateChain(chain.chainDer, new Date(this.now()));
        return card.pay({ orderId, amount: order.amount, currency: order.currency, time: new Date(this.now()) });
      });
      await this.archiveDecision(record, t);
      const presented = await this.present(m, record, cardCert);
      this.o.logger.info({ terminal: t.id, market: m.name, seq: record.seq, presented }, 'payment decided');
      return { record: recordFields(record), presented };
    } catch (e) {
      throw toEmoneyError(e);
    }
  }

  private async archiveDecision(record: SignedRecord, t: { id: string; mail: string }): Promise<void> {
    const fields = recordFields(record);
    await this.o.history.append({ kind: 'decision', ...fields, terminalId: t.id, signedRecord: record.bytes.toString('base64'), presented: false });
    await this.o.mailer.notify(createNotification({ type: 'decision', cardId: record.cardId, seq: record.seq, terminalId: t.id, mail: t.mail, record: fields, signedRecord: record.bytes, cardCertificate: this.o.cards.certificate }));
  }

  /** Present a decision; true once the market acknowledged it. Failures leave it for the presenter. */
  private async present(m: MarketRecord, record: SignedRecord | HistoryEntry, cardCert: Buffer): Promise<boolean> {
    const bytes = 'bytes' in record ? record.bytes : Buffer.from(record.signedRecord ?? '', 'base64');
    try {
      await this.payments.present(m, bytes, cardCert);
    } catch (e) {
      this.o.logger.warn({ market: m.name, seq: record.seq, err: (e as Error).message }, 'decision not yet presented to the market');
      return false;
    }
    await this.o.history.update(`${record.cardId}:decision:${record.seq}`, { presented: true });
    return true;
  }

  /** Present every archived, unacknowledged decision again (at start and periodically). */
  async presentPending(): Promise<number> {
    const cardCert = this.o.cards.certificate;
    if (!cardCert) return 0;
    let done = 0;
    for (const e of await this.o.history.list({ limit: 500 })) {
      if (e.kind !== 'decision' || e.status !== 'paid' || e.presented !== false || !e.market) continue;
      const m = this.marketByDnsName(e.market);
      if (m && (await this.present(m, e, cardCert))) done++;
    }
    return done;
  }

  async cancel(t: TerminalIdentity, seq: number) {
    const cardId = this.o.cards.cardId;
    if (!cardId) throw new ApiError(503, 'card-absent', 'The home card is not available');
    const entry = await this.o.history.get(`${cardId}:decision:${seq}`);
    if (!entry || !entry.market || !entry.orderId) throw new ApiError(404, 'decision-unknown', `No payment decision ${seq} on this card`);
    if (entry.status === 'cancelled') throw new ApiError(409, 'cancel-refused', `Decision ${seq} is already cancelled`);
    const m = this.marketByDnsName(entry.market);
    if (!m) throw new ApiError(404, 'market-unknown', `The market ${entry.market} is no longer registered`);
    try {
      const auth = await this.payments.cancelAuthorization(m, entry.orderId, cardId, seq);
      const record = await withCard(this.o.sessions, t.id, (card) => card.cancel({ authorization: auth.authorization, signature: auth.signature, certificate: auth.certificate }));
      const fields = recordFields(record);
      await this.o.history.update(`${cardId}:decision:${seq}`, { status: 'cancelled', signedRecord: record.bytes.toString('base64') });
      await this.o.history.append({ kind: 'cancel', ...fields, time: new Date(this.now()).toISOString(), terminalId: t.id, signedRecord: record.bytes.toString('base64') });
      await this.o.mailer.notify(createNotification({ type: 'cancel', cardId, seq, terminalId: t.id, mail: t.mail, record: fields, signedRecord: record.bytes, cardCertificate: this.o.cards.certificate }));
      return { record: fields };
    } catch (e) {
      throw toEmoneyError(e, 'cancel');
    }
  }

  async topup(t: TerminalIdentity, amount: number) {
    if (!this.o.issuer) throw new ApiError(409, 'issuer-refused', 'No issuer is configured for top-ups');
    const issuer = this.o.issuer;
    const since = startOfMonthUtc(new Date(this.now()));
    const loads = (await this.o.history.list({ since: since.toISOString() })).filter((e) => e.kind === 'load');
    checkTopup(loads, t.id, amount, this.o.limits);
    try {
      const receipt = await withCard(this.o.sessions, t.id, async (card) => {
        const status = await card.purseStatus();
        const challenge = await card.loadChallenge();
        const cardId = this.o.cards.cardId!;
        const auth = await issuer.requestLoad({ cardId, amount, currency: status.currency, challenge });
        // Journaled before LOAD: if its answer is lost (crash, line down), reconciliation finds out from the card.
        const counter = status.counter + 1;
        await this.o.loads?.record({ terminalId: t.id, mail: t.mail, cardId, amount, currency: status.currency, counter, balance: Number(status.balance) + amount });
        try {
          return await card.load({ authorization: auth.authorization, signature: auth.signature });
        } catch (e) {
          // A status word is a refusal, which changes nothing on the card.
          if (isCardErrorInBand(e, 400)) await this.o.loads?.clear(cardId, counter);
          throw e;
        }
      });
      const load = { cardId: receipt.cardId, counter: receipt.counter, amount: Number(receipt.amount), currency: receipt.currency, newBalance: Number(receipt.balance) };
      await this.o.history.append({ kind: 'load', cardId: receipt.cardId, seq: receipt.counter, amount: load.amount, currency: load.currency, time: new Date(this.now()).toISOString(), terminalId: t.id, signedRecord: receipt.bytes.toString('base64') });
      await this.o.mailer.notify(createNotification({ type: 'topup', cardId: receipt.cardId, seq: receipt.counter, terminalId: t.id, mail: t.mail, time: new Date(this.now()), load, signedRecord: receipt.bytes, cardCertificate: this.o.cards.certificate, balance: load.newBalance }));
      await this.o.loads?.clear(receipt.cardId, receipt.counter);
      return { load };
    } catch (e) {
      throw toEmoneyError(e, 'topup');
    }
  }

  async balance(t: TerminalIdentity) {
    const s = await withCard(this.o.sessions, t.id, (card) => card.purseStatus());
    return { balance: Number(s.balance), currency: s.currency, counter: s.counter, maxBalance: Number(s.maxBalance), perPaymentLimit: Number(s.perPaymentLimit), dailyLimit: Number(s.dailyLimit), spentToday: Number(s.spentToday) };
  }

  async history(t: TerminalIdentity, limit = 100): Promise<HistoryEntry[]> {
    return this.o.history.list({ terminalId: t.id, limit });
  }
}
