/**
 * One proxied authentication (claims 1, 2, 3, 8): a registered terminal with
 * an open card session asks to be authenticated at a registered market.
 * PIN2 releases the card for this one operation; the proxy engine then has
 * the card verify the market's chain and sign the short-lived session
 * certificate, performs the TLS 1.3 handshake and returns the session that
 * becomes the terminal's common key. The card is held only while it is
 * needed: it is handed back as soon as it has signed, before the handshake.
 */
import type { Logger } from '../../card-io/base/log.js';
import type { CardService } from '../card/card-service.js';
import { CardSessionError } from '../card/card-session-error.js';
import { pinError, type CardLease, type CardSessions } from '../card/card-sessions.js';
import { createProxyState, delegatedHandshake, marketTarget, type CardSigner, type MarketTarget, type ProxyOptions, type ProxyState } from '../proxy/index.js';
import { traced, type AuthorizationTrace } from '../trace/authorization-trace.js';
import type { Registry } from '../registry/index.js';
import { AuthorizationError } from './authorization-error.js';
import type { AuthorizeAnswer } from '../terminal-api/handlers.js';
import type { TerminalIdentity } from '../terminal-api/routes.js';

export interface MarketAuthorizerOptions {
  registry: Registry;
  cards: CardService;
  sessions: CardSessions;
  proxy: ProxyOptions;
  logger: Logger;
  /** Unix ms; the time given to the card and written into session certificates. Default Date.now. */
  clock?: () => number;
  /** Market chains (and reusable leaves) shared with the e-money manager. Default: a private one. */
  state?: ProxyState;
  /** Stage timings of each authorization (authorization-trace.ts); absent: nothing measured. */
  trace?: AuthorizationTrace;
}

export class MarketAuthorizer {
  private readonly state: ProxyState;
  /**
   * The proxy's view of each registered market, built once per registration
   * (its anchors decoded from PEM once, not per authorization). Keyed by the
   * registration's fields, so a re-registered market is a new entry.
   */
  private readonly targets = new Map<string, MarketTarget>();

  constructor(private readonly o: MarketAuthorizerOptions) {
    this.state = o.state ?? createProxyState();
  }

  private target(m: { name: string; host: string; port: number; anchorPem: string }): MarketTarget {
    const key = `${m.name}\u0000${m.host}\u0000${m.port}\u0000${m.anchorPem}`;
    let t = this.targets.get(key);
    if (t === undefined) {
      // Only the current registration of a name is kept: a replaced one is dropped.
      for (const [k, old] of this.targets) if (old.name === m.name) this.targets.delete(k);
      t = marketTarget(m);
      this.targets.set(key, t);
    }
    return t;
  }

  async authorize(terminal: TerminalIdentity, marketName: string, pin2: string): Promise<AuthorizeAnswer> {
    const market = this.o.registry.getMarket(marketName);
    if (!market) throw new AuthorizationError('market-unknown', `No market named ${marketName} is registered`);
    const cardCertificate = this.o.cards.certificate;
    if (!cardCertificate) throw new AuthorizationError('card-absent', 'The home card is not available');

    const trace = this.o.trace;
    let lease: CardLease | undefined = await traced(trace, 'card-lease', () => this.o.sessions.lease(terminal.id));
    const handBack = () => {
      lease?.release();
      lease = undefined;
    };
    try {
      const card = lease.card;
      await traced(trace, 'card-pin2', () => this.o.sessions.verifyPin2(terminal.id, card, pin2));
      const signer: CardSigner = {
        cardCertificate,
        verifyMarketChain: async (chain, at) => {
          await held(lease).card.verifyCertificateChain(chain, at);
        },
        signSessionCertificate: async (tbs) => {
          try {
            return await held(lease).card.signSessionCertificate(tbs);
          } finally {
            handBack();
          }
        },
      };
      const result = await delegatedHandshake({
        market: this.target(market),
        signer,
        options: this.o.proxy,
        logger: this.o.logger,
        clock: this.o.clock,
        state: this.state,
        trace,
      });
      if (lease) {
        // A reused session certificate: PIN2 was checked but the card was not used; end the release.
        await lease.card.resetPinState('PIN2');
        handBack();
      }
      this.o.logger.info({ terminal: terminal.id, market: market.name, cardSigned: result.cardSigned }, 'market authorization delegated');
      return {
        market: result.market,
        host: result.host,
        port: result.port,
        servername: result.servername,
        alpn: result.alpn,
        session: result.session.toString('base64'),
        ticketLifetimeSeconds: result.ticketLifetimeSeconds,
        clientSubject: result.clientSubject,
        certificateExpiresAt: result.certificateExpiresAt,
        marketCa: market.anchorPem,
      };
    } catch (e) {
      // PIN refusals become session errors; proxy and card errors reach the edge as they are.
      throw pinError(e);
    } finally {
      handBack();
    }
  }
}

function held(lease: CardLease | undefined): CardLease {
  if (!lease) throw new CardSessionError('internal', 'The card was used after it was handed back');
  return lease;
}
