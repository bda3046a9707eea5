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
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import type { SignedRecord } from '../../card-io/home-card/decision-record.js';
import type { Logger } from '../../card-io/base/log.js';
import type { CardService } from '../card/card-service.js';
import type { CardSessions } from '../card/card-sessions.js';
import type { HistoryEntry, HistoryStore } from '../history/index.js';
import { createNotification } from '../notify/notification.js';
import { decisionMail, keptByArchive, mailUnmailed, type Mailer } from './decision-mail.js';
import type { MarketRecord, Registry } from '../registry/index.js';
import type { TerminalIdentity } from '../terminal-api/routes.js';
import { withCard } from '../card/with-card.js';
import { paymentNotSent, toEmoneyError } from './emoney-errors.js';
import { PeerError } from './https-json.js';
import type { IssuerClient } from './issuer-client.js';
import { KeyedLock } from './keyed-lock.js';
import { MarketPayments, servername } from './market-payments.js';
import type { LoadIntents, PaymentIntents } from './payment-intents.js';
import { checkCardLimits, checkTopup, startOfMonthUtc, type TopupLimits } from './topup-policy.js';
import { completeLoad, loadFields, loadRefusedByCard, releaseLoad, settleLoadsOnCard, type SettlementDeps } from './load-settlement.js';
import { EmoneyError } from './emoney-error.js';
import type { GatewayEvents } from '../events/gateway-events.js';
import { marketTarget, type ProxyState } from '../proxy/index.js';
import type { Confirmation } from './confirmation.js';

export type { Mailer } from './decision-mail.js';

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
  /** Where decisions, cancels and top-ups are announced (the dashboard's state and events). */
  events?: GatewayEvents;
  /** Read the purse balance after a payment for the events (one more card command; only when the household publishes it). */
  balanceInEvents?: boolean;
  /** A person's press on the gateway for large amounts (the panel); absent: no confirmation asked. */
  confirmation?: Confirmation;
}

export function recordFields(r: SignedRecord) {
  return {
    seq: r.seq,
    cardId: r.cardId,
    market: r.market,
    orderId: r.orderId,
    amount: Number(r.amount),
    currency: r.currency,
    time: r.time.toISOString(),
    status: r.status,
  };
}

type PresentOutcome = 'presented' | 'pending' | { refused: string };

function presentedFields(o: PresentOutcome) {
  return typeof o === 'string' ? { presented: o === 'presented' } : { presented: false, marketRefused: o.refused };
}

/** The market's code when it refused a presented decision for good. */
function marketRefusal(e: unknown): string | undefined {
  if (!(e instanceof PeerError) || e.kind !== 'refused' || e.status === undefined) return undefined;
  // Final: the request or the record is wrong for this market, or the order cannot take it. Not final: 401/403
  // (the market's trust configuration can be fixed), 408/429 and 5xx (try again later).
  if (![400, 404, 409, 410, 422].includes(e.status)) return undefined;
  return e.peerCode !== undefined && /^[a-z0-9-]{1,64}$/.test(e.peerCode) ? e.peerCode : 'refused';
}

/** The card's record for the market and order, from its decision log (READ RECORD). */
async function decisionOnCard(card: HomeCard, dns: string, orderId: string): Promise<SignedRecord | undefined> {
  const seqs = await card.logSeqs();
  for (let n = 1; n <= seqs.length; n++) {
    const r = await card.readRecord(n);
    if (r.orderId === orderId && r.market.toLowerCase() === dns.toLowerCase()) return r;
  }
  return undefined;
}

export class EmoneyManager {
  readonly payments: MarketPayments;
  private readonly orders = new KeyedLock();
  private readonly now: () => number;

  constructor(private readonly o: EmoneyManagerOptions) {
    this.payments = new MarketPayments(o.marketTimeoutMs ?? 5000);
    this.now = o.clock ?? Date.now;
  }

  private market(name: string): MarketRecord {
    const m = this.o.registry.getMarket(name);
    if (!m) throw new EmoneyError('market-unknown', `No market named ${name} is registered`);
    return m;
  }

  private marketByDnsName(dns: string): MarketRecord | undefined {
    return this.o.registry.listMarkets().find((m) => servername(m) === dns || m.host === dns);
  }

  /**
   * The order as the market states it, for the terminal to show before it
   * asks PIN2 (API.md, `POST /v1/purse/quote`); the pay request then carries
   * the amount shown.
   */
  async quote(marketName: string, orderId: string) {
    const m = this.market(marketName);
    try {
      const order = await this.payments.order(m, orderId);
      return { market: m.name, marketHost: servername(m), orderId, amount: order.amount, currency: order.currency, status: order.status };
    } catch (e) {
      throw toEmoneyError(e);
    }
  }

  /**
   * One order, one debit: requests for the same market and order run one at
   * a time; one that finds a decision for the order (archived, or on the
   * card, which refuses a second PAY with 6A89) answers that decision with
   * `alreadyPaid: true` instead of paying again.
   */
  async pay(t: TerminalIdentity, marketName: string, orderId: string, pin2: string, agreed: { amount: number; currency: string }) {
    const m = this.market(marketName);
    const cardCert = this.o.cards.certificate;
    if (!cardCert) throw new EmoneyError('card-absent', 'The home card is not available', { outcome: 'not-sent' });
    const dns = servername(m);
    return this.orders.run(`${dns.toLowerCase()}\0${orderId}`, async () => {
      // Whether PAY itself went to the card: before it (PIN2, the market chain's check) a pulled card paid nothing.
      let paySent = false;
      try {
        const earlier = await this.archivedDecision(dns, orderId);
        if (earlier) return this.earlierAnswer(m, earlier, cardCert);
        const order = await this.payments.order(m, orderId);
        if (order.status !== 'open') throw new EmoneyError('order-not-payable', `Order ${orderId} is ${order.status}`);
        if (order.amount !== agreed.amount || order.currency !== agreed.currency) {
          throw new EmoneyError(
            'amount-mismatch',
            `The market asks ${order.amount} ${order.currency} for order ${orderId}, not the ${agreed.amount} ${agreed.currency} the terminal showed`,
          );
        }
        // Before anything touches the card or the intent journal: a refusal here leaves nothing to undo.
        await this.o.confirmation?.awaitConfirmation({ kind: 'pay', amount: order.amount, currency: order.currency, terminal: t.id });
        const target = marketTarget(m);
        let balance: number | undefined;
        const { chain } = await this.o.proxyState.chains.get({
          market: target,
          connectTimeoutMs: this.o.marketTimeoutMs ?? 5000,
          logger: this.o.logger,
          now: this.now(),
        });
        // The first asker, for a decision the card made before a crash (attributed to who asked for it).
        const prior = await this.o.intents.find(dns, orderId);
        await this.o.intents.record({ terminalId: t.id, mail: t.mail, market: dns, orderId });
        const { record, alreadyPaid } = await withCard(this.o.sessions, t.id, async (card) => {
          await this.o.sessions.verifyPin2(t.id, card, pin2);
          await card.verifyCertificateChain(chain.chainDer, new Date(this.now()));
          try {
            // The card debits order.amount only if it is the amount the terminal showed (DF58).
            paySent = true;
            const paid = await card.pay({ orderId, amount: order.amount, agreedAmount: agreed.amount, currency: order.currency, time: new Date(this.now()) });
            if (this.o.balanceInEvents)
              balance = await card.purseStatus().then(
                (p) => Number(p.balance),
                () => undefined,
              );
            return { record: paid, alreadyPaid: false };
          } catch (e) {
            if (!isCardError(e, CardErrorCode.AlreadyPaid)) throw e;
            const found = await decisionOnCard(card, dns, orderId);
            if (!found)
              throw new EmoneyError('already-paid', `The home card already paid order ${orderId} at ${m.name}; that decision is no longer in its log`);
            return { record: found, alreadyPaid: true };
          }
        });
        const payer = alreadyPaid && prior ? (this.o.registry.getTerminal(prior.terminalId) ?? t) : t;
        await this.archiveDecision(record, payer);
        // A record the card already cancelled is not a payment to present.
        const outcome: PresentOutcome = record.status === 'paid' ? await this.present(m, record, cardCert) : 'pending';
        this.o.logger.info({ terminal: t.id, market: m.name, seq: record.seq, outcome, alreadyPaid }, 'payment decided');
        if (!alreadyPaid) {
          const at = this.now();
          const f = { terminal: t.id, market: m.name, orderId, amount: Number(record.amount), currency: record.currency, status: record.status, at };
          this.o.events?.emit('decision', balance === undefined ? f : { ...f, balance });
        }
        return { record: recordFields(record), ...presentedFields(outcome), ...(alreadyPaid ? { alreadyPaid } : {}) };
      } catch (e) {
        throw paymentNotSent(toEmoneyError(e), paySent);
      }
    });
  }

  /** The archived decision of this card for the market (DNS name) and order, if any. */
  private async archivedDecision(dns: string, orderId: string): Promise<HistoryEntry | undefined> {
    const cardId = this.o.cards.cardId;
    // From the store's order map: listing the whole archive here read every month at every payment.
    return cardId === undefined ? undefined : this.o.history.findDecision(cardId, dns, orderId);
  }

  /** The answer to a second request for a decided order: the first decision, presented again if still pending. */
  private async earlierAnswer(m: MarketRecord, e: HistoryEntry, cardCert: Buffer) {
    let outcome: PresentOutcome = e.marketRefused ? { refused: e.marketRefused } : e.presented ? 'presented' : 'pending';
    if (outcome === 'pending' && e.status === 'paid') outcome = await this.present(m, e, cardCert);
    const record = {
      seq: e.seq,
      cardId: e.cardId,
      market: e.market!,
      orderId: e.orderId!,
      amount: e.amount,
      currency: e.currency,
      time: e.time,
      status: e.status ?? 'paid',
    };
    return { record, ...presentedFields(outcome), alreadyPaid: true };
  }

  /**
   * The decision's archive entry is group-committed (record-log.ts): durable
   * within 8 records or 1 s, sharing fdatasyncs. It also keeps the decision's
   * mail (`mailed: false` until every channel acknowledged it, then a mark):
   * the outbox holds that mail in memory only (outbox.ts, `kept`), so a
   * payment writes the intent journal and one month page, not a third file
   * (docs/PERFORMANCE.md). A crash of the process loses nothing (the entry is
   * in the page cache; `mailUnmailed` queues the mail again at start); a power
   * cut within the group bound loses nothing for good: the card's log (32
   * events) holds the decision, and the reconciliation at the next start
   * archives it again with the terminal from the payment intent (fsynced
   * before the card paid) and queues its mail again (emoney-reconciler.ts).
   */
  private async archiveDecision(record: SignedRecord, t: { id: string; mail: string }): Promise<void> {
    const fields = recordFields(record);
    const key = `${record.cardId}:decision:${record.seq}` as const;
    const archived = await this.o.history.get(key);
    if (!archived) {
      const entry = { kind: 'decision' as const, ...fields, terminalId: t.id, signedRecord: record.bytes.toString('base64'), presented: false, mailed: false };
      await this.o.history.append(entry, { groupCommit: true });
    }
    if (archived?.mailed === true) return; // its mail went out already
    const n = decisionMail(fields, record.bytes, t, this.o.cards.certificate);
    // An entry archived before the archive kept mails (or reconciled from the card) leaves its mail to the durable outbox.
    await this.o.mailer.notify(n, archived && archived.mailed === undefined ? { groupCommit: true } : { kept: keptByArchive(this.o.history, key) });
  }

  /** Queues again the mail of every decision the archive keeps unmailed (decision-mail.ts); resolves to the number queued. */
  mailUnmailed(): Promise<number> {
    const { history, registry, mailer, logger } = this.o;
    return mailUnmailed({ history, registry, mailer, logger, cardCertificate: this.o.cards.certificate });
  }

  /**
   * Present a decision. 'presented' once the market acknowledged it;
   * 'pending' when it did not answer (the presenter tries again); refused
   * when it answered a 4xx: that is final, the decision is marked and no
   * longer presented, and its money comes back with a cancel (PAYMENTS.md).
   */
  private async present(m: MarketRecord, record: SignedRecord | HistoryEntry, cardCert: Buffer): Promise<PresentOutcome> {
    const bytes = 'bytes' in record ? record.bytes : Buffer.from(record.signedRecord ?? '', 'base64');
    const key = `${record.cardId}:decision:${record.seq}` as const;
    try {
      await this.payments.present(m, bytes, cardCert);
    } catch (e) {
      const refused = marketRefusal(e);
      if (refused) {
        await this.o.history.update(key, { marketRefused: refused });
        this.o.logger.warn({ market: m.name, seq: record.seq, code: refused }, 'the market refused the decision; it can be cancelled');
        return { refused };
      }
      this.o.logger.warn({ market: m.name, seq: record.seq, err: (e as Error).message }, 'decision not yet presented to the market');
      return 'pending';
    }
    await this.o.history.update(key, { presented: true });
    return 'presented';
  }

  /** Present every archived, unacknowledged decision again (at start and periodically); refused ones are left alone. */
  async presentPending(): Promise<number> {
    const cardCert = this.o.cards.certificate;
    if (!cardCert) return 0;
    let done = 0;
    // Every month's unpresented decisions, from the store's index: not only the newest entries.
    for (const e of await this.o.history.listPending()) {
      if (!e.market) continue;
      const m = this.marketByDnsName(e.market);
      if (m && (await this.present(m, e, cardCert)) === 'presented') done++;
    }
    return done;
  }

  /**
   * Cancel a decision (claim 5). Only the terminal that paid may, or one the
   * household made an 'owner' in the registry. The card signs the request to
   * the market (SIGN CANCEL REQUEST), so the market knows it comes from the
   * card that paid; the market's authorization then refunds the card. The
   * canceller and the payer are mailed (once each).
   */
  async cancel(t: TerminalIdentity, seq: number) {
    const cardId = this.o.cards.cardId;
    const cardCert = this.o.cards.certificate;
    if (!cardId || !cardCert) throw new EmoneyError('card-absent', 'The home card is not available', { outcome: 'not-sent' });
    const entry = await this.o.history.get(`${cardId}:decision:${seq}`);
    if (!entry?.market || !entry.orderId) throw new EmoneyError('decision-unknown', `No payment decision ${seq} on this card`);
    if (entry.terminalId !== t.id && this.o.registry.getTerminal(t.id)?.role !== 'owner') {
      throw new EmoneyError('not-your-decision', `Decision ${seq} was made by another terminal; only it or an owner terminal may cancel it`);
    }
    if (entry.status === 'cancelled') throw new EmoneyError('cancel-refused', `Decision ${seq} is already cancelled`);
    const m = this.marketByDnsName(entry.market);
    if (!m) throw new EmoneyError('market-unknown', `The market ${entry.market} is no longer registered`);
    const orderId = entry.orderId;
    try {
      const record = await withCard(this.o.sessions, t.id, async (card) => {
        const request = await card.signCancelRequest(seq);
        const auth = await this.payments.cancelAuthorization(m, orderId, request.bytes, cardCert);
        return card.cancel({ authorization: auth.authorization, signature: auth.signature, certificate: auth.certificate });
      });
      const fields = recordFields(record);
      await this.o.history.update(`${cardId}:decision:${seq}`, { status: 'cancelled', signedRecord: record.bytes.toString('base64') });
      await this.o.history.append({
        kind: 'cancel',
        ...fields,
        time: new Date(this.now()).toISOString(),
        terminalId: t.id,
        signedRecord: record.bytes.toString('base64'),
      });
      const mail = { type: 'cancel' as const, cardId, seq, record: fields, signedRecord: record.bytes, cardCertificate: cardCert };
      await this.o.mailer.notify(createNotification({ ...mail, terminalId: t.id, mail: t.mail }));
      const payer = entry.terminalId ? this.o.registry.getTerminal(entry.terminalId) : undefined;
      if (payer && payer.id !== t.id && payer.mail !== t.mail)
        await this.o.mailer.notify(createNotification({ ...mail, copy: 'payer', terminalId: payer.id, mail: payer.mail }));
      this.o.events?.emit('cancel', { terminal: t.id, market: m.name, orderId, amount: Number(record.amount), currency: record.currency, at: this.now() });
      return { record: fields };
    } catch (e) {
      throw toEmoneyError(e, 'cancel');
    }
  }

  async topup(t: TerminalIdentity, amount: number) {
    if (!this.o.issuer) throw new EmoneyError('issuer-refused', 'No issuer is configured for top-ups');
    const issuer = this.o.issuer;
    const since = startOfMonthUtc(new Date(this.now()));
    const loads = (await this.o.history.list({ since: since.toISOString() })).filter((e) => e.kind === 'load');
    checkTopup(loads, t.id, amount, this.o.limits);
    // Before the card, the issuer and the load journal: a refusal here leaves nothing to undo.
    await this.o.confirmation?.awaitConfirmation({ kind: 'topup', amount, terminal: t.id });
    const settlement = this.settlement();
    let running: { cardId: string; counter: number } | undefined;
    try {
      const done = await withCard(this.o.sessions, t.id, async (card) => {
        const cardId = this.o.cards.cardId!;
        // Earlier top-ups whose outcome is unknown are settled first, while the card still holds their receipt (DF43).
        await settleLoadsOnCard(card, cardId, settlement, new Date(this.now()));
        const status = await card.purseStatus();
        // What the card would refuse anyway is refused here, before the issuer holds any funds.
        checkCardLimits(status, amount);
        const challenge = await card.loadChallenge();
        const reservation = await issuer.requestLoad({ cardId, amount, currency: status.currency, challenge });
        // Journaled before LOAD: if its answer is lost (crash, line down), the settlement asks the card.
        const counter = status.counter + 1;
        running = { cardId, counter };
        this.o.loads?.begin(cardId, counter);
        const intent = {
          terminalId: t.id,
          mail: t.mail,
          cardId,
          amount,
          currency: status.currency,
          counter,
          balance: Number(status.balance) + amount,
          reservationId: reservation.id,
          challenge: challenge.toString('base64'),
        };
        try {
          await this.o.loads?.record(intent);
        } catch (e) {
          await issuer.voidLoad(reservation.id).catch(() => undefined);
          throw e;
        }
        try {
          return { intent, receipt: await card.load({ authorization: reservation.authorization, signature: reservation.signature }) };
        } catch (e) {
          if (loadRefusedByCard(e)) await releaseLoad(settlement, { ...intent, at: new Date(this.now()).toISOString() });
          // Otherwise the outcome is unknown: the intent stays for the settlement, which reads the card.
          throw e;
        }
      });
      const { receipt, intent } = done;
      await completeLoad(settlement, { ...intent, at: new Date(this.now()).toISOString() }, receipt, new Date(this.now()));
      const load = loadFields(receipt);
      const topup = { terminal: t.id, amount: load.amount, currency: load.currency, status: 'loaded', at: this.now() };
      this.o.events?.emit('topup', this.o.balanceInEvents ? { ...topup, balance: load.newBalance } : topup);
      return { load };
    } catch (e) {
      throw toEmoneyError(e, 'topup');
    } finally {
      if (running) this.o.loads?.end(running.cardId, running.counter);
    }
  }

  private settlement(): SettlementDeps {
    return {
      history: this.o.history,
      loads: this.o.loads,
      mailer: this.o.mailer,
      issuer: this.o.issuer,
      cardCertificate: this.o.cards.certificate,
      logger: this.o.logger,
    };
  }

  async balance(t: TerminalIdentity) {
    const s = await withCard(this.o.sessions, t.id, (card) => card.purseStatus());
    return {
      balance: Number(s.balance),
      currency: s.currency,
      counter: s.counter,
      maxBalance: Number(s.maxBalance),
      perPaymentLimit: Number(s.perPaymentLimit),
      dailyLimit: Number(s.dailyLimit),
      spentToday: Number(s.spentToday),
      ...(s.perLoadLimit === undefined ? {} : { perLoadLimit: Number(s.perLoadLimit) }),
    };
  }

  async history(t: TerminalIdentity, limit = 100): Promise<HistoryEntry[]> {
    return this.o.history.list({ terminalId: t.id, limit });
  }
}
