/**
 * A gateway's money core in one process, with nothing on the network: the
 * reference card applet in memory behind a fake card service, the real
 * CardSessions, registry, history store and intent journals on a temporary
 * directory, a market and an issuer in memory, and a mailer that keeps what
 * it is given. Unit tests of the e-money manager, the authorizer and the
 * admin routes build on it.
 */
import type { ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../card-io/base/log.js';
import { createHomeCardApplet } from '../../../card-io/emulator/applet.js';
import { createMemoryCardStore } from '../../../card-io/emulator/card-store.js';
import { HomeCard } from '../../../card-io/home-card/home-card.js';
import { CardSessions } from '../../../gateway/card/card-sessions.js';
import { PinThrottle } from '../../../gateway/card/pin-throttle.js';
import { EmoneyManager, type Mailer } from '../../../gateway/emoney/emoney-manager.js';
import type { TopupLimits } from '../../../gateway/emoney/topup-policy.js';
import { LoadIntents, PaymentIntents } from '../../../gateway/emoney/payment-intents.js';
import { HistoryStore } from '../../../gateway/history/index.js';
import type { Notification } from '../../../gateway/notify/notification.js';
import { createProxyState, type ProxyState } from '../../../gateway/proxy/index.js';
import { describeChain } from '../../../gateway/proxy/market-chain.js';
import { Registry, type MarketRecord, type TerminalRecord } from '../../../gateway/registry/index.js';
import { derToPem } from '../../../provisioning/pki/index.js';
import { DAY0, PINS, purseFixture, type PurseFixture, type PurseFixtureOptions } from '../../card-io/purse-fixtures.js';
import { fakeCardService, type FakeCardService } from './card-service.js';
import { ReservingIssuer } from './issuer.js';
import { FakeMarket } from './market.js';

export { PINS };

export interface MoneyHousehold {
  t: ExecutionContext;
  dir: string;
  fx: PurseFixture;
  cardCertificate: Buffer;
  cards: FakeCardService;
  sessions: CardSessions;
  registry: Registry;
  history: HistoryStore;
  intents: PaymentIntents;
  loads: LoadIntents;
  market: FakeMarket;
  /** The market as registered (name "shop", https://shop.example). */
  shop: MarketRecord;
  issuer: ReservingIssuer;
  proxyState: ProxyState;
  mail: Notification[];
  /** Unix ms the gateway and the card see: inside every test certificate's validity. */
  now: number;
  /** A terminal enrolled in the registry with the given role, its card session opened with PIN1. */
  terminal(name: string, role?: 'owner' | 'member'): Promise<TerminalRecord>;
  /** A manager over this household (a new one shares the card, the archive and the journals). */
  manager(over?: { history?: HistoryStore; limits?: TopupLimits; issuer?: null; mailer?: Mailer }): EmoneyManager;
}

let terminals = 0;
const templates = new Map<string, Promise<PurseFixture>>();

/**
 * A personalized card of its own for each test, cloned from one card
 * personalized once per test process and purse set-up (its state is
 * immutable: the applet commits a new state object per change), so each test
 * starts in milliseconds instead of generating keys and certificates again.
 */
export async function clonedPurseCard(t: ExecutionContext, purse: PurseFixtureOptions['purse'] = {}): Promise<PurseFixture> {
  const key = JSON.stringify(purse);
  if (!templates.has(key)) templates.set(key, purseFixture(t, { storage: 'memory', purse }));
  const fx = await templates.get(key)!;
  const store = createMemoryCardStore(fx.store.state);
  const applet = createHomeCardApplet({ store });
  const card = new HomeCard({ transport: { transmit: (apdu) => applet.process(apdu) } });
  await card.select();
  return { ...fx, store, card };
}

export async function moneyHousehold(t: ExecutionContext): Promise<MoneyHousehold> {
  const fx = await clonedPurseCard(t);
  const cardCertificate = (await fx.card.info()).certificate!;
  const dir = await mkdtemp(join(tmpdir(), 'hg-money-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cards = fakeCardService(fx.card, { cardId: fx.cardId, certificate: cardCertificate });
  const sessions = new CardSessions({ cards: cards.service, logger: silentLogger, throttle: new PinThrottle({ baseDelayMs: 0 }) });
  t.teardown(() => sessions.closeAll());
  const registry = new Registry({ path: join(dir, 'registry.json'), logger: silentLogger });
  await registry.open();
  const shop = await registry.addMarket({ name: 'shop', url: 'https://shop.example', anchorPem: derToPem(Buffer.from(fx.market.root.certificate)) });
  const history = await HistoryStore.open({ dir: join(dir, 'history'), logger: silentLogger });
  const intents = new PaymentIntents(join(dir, 'intents.log'));
  const loads = new LoadIntents(join(dir, 'loads.log'));
  const chain = describeChain([fx.market.leaf, Buffer.from(fx.market.intermediate.certificate)]);
  const proxyState = createProxyState(async () => chain);
  const market = new FakeMarket(fx.signer);
  const issuer = new ReservingIssuer(fx.issuerLoadKey, fx.cardKey);
  const mail: Notification[] = [];
  const now = DAY0 * 1000 + 12 * 3_600_000;
  const h: MoneyHousehold = {
    t,
    dir,
    fx,
    cardCertificate,
    cards,
    sessions,
    registry,
    history,
    intents,
    loads,
    market,
    shop,
    issuer,
    proxyState,
    mail,
    now,
    async terminal(name, role = 'member') {
      const n = ++terminals;
      let rec = await registry.addTerminal({ name, mail: `${name}@home.example`, certFingerprint: n.toString(16).padStart(64, '0') });
      if (role === 'owner') rec = await registry.setTerminalRole(rec.id, 'owner');
      await sessions.unlock(rec.id, PINS.pin1);
      return rec;
    },
    manager(over = {}) {
      const m = new EmoneyManager({
        registry,
        cards: cards.service,
        sessions,
        history: over.history ?? history,
        intents,
        loads,
        mailer: over.mailer ?? { notify: async (n) => void mail.push(n) },
        proxyState,
        issuer: over.issuer === null ? undefined : issuer.client,
        limits: over.limits ?? { householdMonthly: 10_000_000, terminalMonthly: 10_000_000 },
        logger: silentLogger,
        clock: () => h.now,
      });
      market.install(m.payments);
      return m;
    },
  };
  return h;
}
