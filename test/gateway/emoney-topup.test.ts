/**
 * Top-ups through the e-money manager with the reference card (in memory)
 * and an issuer that keeps reservations: no issuer debit without a load on
 * the card, and no load on the card without its archive entry, its mail and
 * its issuer commit, whatever happens to LOAD's answer.
 */
import test, { type ExecutionContext } from 'ava';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import { silentLogger } from '../../card-io/base/log.js';
import { EmoneyManager, type EmoneyManagerOptions } from '../../gateway/emoney/emoney-manager.js';
import type { IssuerClient } from '../../gateway/emoney/issuer-client.js';
import { settleLoadsOnCard } from '../../gateway/emoney/load-settlement.js';
import { LoadIntents } from '../../gateway/emoney/payment-intents.js';
import { HistoryStore } from '../../gateway/history/index.js';
import type { Notification } from '../../gateway/notify/notification.js';
import { clonedPurseCard } from '../helpers/fakes/household.js';
import { ReservingIssuer } from '../helpers/fakes/issuer.js';
import { INITIAL_BALANCE, LIMITS, PINS, type purseFixture, type PurseFixture } from '../card-io/purse-fixtures.js';
import { isEmoneyError } from '../../gateway/emoney/emoney-error.js';
import { toHttpError } from '../../gateway/terminal-api/http-errors.js';

const TERMINAL = { id: 'term-0001', name: 'kitchen', mail: 'kitchen@home.example' };

interface Rig {
  fx: PurseFixture;
  manager: EmoneyManager;
  issuer: ReservingIssuer;
  history: HistoryStore;
  loads: LoadIntents;
  /** The load journal's file, to open it again as a restarted gateway would. */
  journalPath: string;
  mail: Notification[];
  /** What LOAD does in the manager's hands: by default the card's own LOAD. */
  loadHook: ((card: HomeCard, run: () => ReturnType<HomeCard['load']>) => ReturnType<HomeCard['load']>) | undefined;
  settle(): Promise<number>;
  archivedLoads(): Promise<number>;
}

async function rig(t: ExecutionContext, issuerKey?: KeyObject, purse: NonNullable<Parameters<typeof purseFixture>[1]>['purse'] = {}): Promise<Rig> {
  const fx = await clonedPurseCard(t, purse);
  await fx.card.verifyPin1(PINS.pin1);
  const dir = await mkdtemp(join(tmpdir(), 'hg-topup-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const history = await HistoryStore.open({ dir: join(dir, 'history'), logger: silentLogger });
  const journalPath = join(dir, 'load-intents.json');
  const loads = new LoadIntents(journalPath);
  const issuer = new ReservingIssuer(issuerKey ?? fx.issuerLoadKey, fx.cardKey);
  const mail: Notification[] = [];
  const r = { fx, issuer, history, loads, journalPath, mail, loadHook: undefined } as unknown as Rig;
  // The card as the manager sees it: LOAD may be rewired by a test to lose its answer.
  const card = new Proxy(fx.card, {
    get(target, prop, receiver) {
      if (prop === 'load') return (req: Parameters<HomeCard['load']>[0]) => (r.loadHook ? r.loadHook(target, () => target.load(req)) : target.load(req));
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const cardCertificate = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]);
  const options = {
    registry: {} as EmoneyManagerOptions['registry'],
    cards: { cardId: fx.cardId, certificate: cardCertificate } as unknown as EmoneyManagerOptions['cards'],
    sessions: { lease: async () => ({ card, release: () => undefined }) } as unknown as EmoneyManagerOptions['sessions'],
    history,
    intents: {} as EmoneyManagerOptions['intents'],
    loads,
    mailer: { notify: async (n: Notification) => void mail.push(n) },
    proxyState: {} as EmoneyManagerOptions['proxyState'],
    issuer: issuer as unknown as IssuerClient,
    limits: { householdMonthly: 10_000_000, terminalMonthly: 10_000_000 },
    logger: silentLogger,
  } satisfies EmoneyManagerOptions;
  r.manager = new EmoneyManager(options);
  r.settle = () =>
    settleLoadsOnCard(
      fx.card,
      fx.cardId,
      { history, loads, mailer: options.mailer, issuer: issuer as unknown as IssuerClient, cardCertificate, logger: silentLogger },
      new Date(),
    );
  r.archivedLoads = async () => (await history.list({})).filter((e) => e.kind === 'load').length;
  return r;
}

test('When the card refuses the LOAD, the issuer reservation is voided, nothing is archived or mailed, and no intent is left', async (t) => {
  // An authorization signed with a key the card does not trust: the card answers 6A80.
  const r = await rig(t, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  const e = await t.throwsAsync(r.manager.topup(TERMINAL, 1_000));
  t.like(e, { code: 'card-refused' });
  t.deepEqual(r.issuer.statuses(), ['voided']);
  t.is(r.issuer.balance, 1_000_000);
  t.deepEqual(await r.loads.pending(), []);
  t.is(await r.archivedLoads(), 0);
  t.deepEqual(r.mail, []);
  t.like(await r.fx.card.purseStatus(), { balance: INITIAL_BALANCE, counter: 0 });
});

test("When a top-up would go over the card's maximum balance, it is refused before the issuer is asked", async (t) => {
  const r = await rig(t);
  const e = await t.throwsAsync(r.manager.topup(TERMINAL, LIMITS.maxBalance - INITIAL_BALANCE + 1));
  t.true(isEmoneyError(e, 'limit-exceeded'));
  t.like(toHttpError(e), { status: 409, code: 'limit-exceeded' });
  t.deepEqual(r.issuer.calls, []);
  t.deepEqual(await r.loads.pending(), []);
});

test("When a top-up is above the card's per-load limit, it is refused before the issuer is asked", async (t) => {
  const r = await rig(t, undefined, { perLoadLimit: 1_000 });
  const e = await t.throwsAsync(r.manager.topup(TERMINAL, 1_001));
  t.true(isEmoneyError(e, 'limit-exceeded'));
  t.like(toHttpError(e), { status: 409, code: 'limit-exceeded' });
  t.deepEqual(r.issuer.calls, []);
  t.like((await r.manager.topup(TERMINAL, 1_000)).load, { amount: 1_000 });
});

test('A top-up the card accepts is archived, mailed and committed at the issuer once', async (t) => {
  const r = await rig(t);
  const done = await r.manager.topup(TERMINAL, 2_500);
  t.like(done.load, { counter: 1, amount: 2_500, newBalance: INITIAL_BALANCE + 2_500 });
  t.deepEqual(r.issuer.statuses(), ['committed']);
  t.is(r.issuer.balance, 1_000_000 - 2_500);
  t.is(await r.archivedLoads(), 1);
  t.is(r.mail.length, 1);
  t.deepEqual(await r.loads.pending(), []);
});

// The answers a lost LOAD can leave the gateway with: an interrupted exchange, or a status word
// LOAD itself never gives (what a chain's tail, run as a command of its own, answers).
const lostAnswers: Array<[string, () => Error]> = [
  ['the exchange was interrupted', () => new CardError(CardErrorCode.ExchangeInterrupted, 'line dropped')],
  ['a 6700 came back', () => new CardError(CardErrorCode.WrongLength, 'wrong length', { sw: 0x6700 })],
  ['a 6E00 came back', () => new CardError(CardErrorCode.ClaNotSupported, 'class not supported', { sw: 0x6e00 })],
];

for (const [what, lost] of lostAnswers) {
  test(`When the card loaded but ${what}, the load is kept and settled from the card: archived once, mailed once, committed once`, async (t) => {
    const r = await rig(t);
    r.loadHook = async (_card, run) => {
      await run();
      throw lost();
    };
    await t.throwsAsync(r.manager.topup(TERMINAL, 1_500));
    t.is((await r.loads.pending()).length, 1, 'the recovery record is kept');
    t.deepEqual(r.issuer.statuses(), ['reserved'], 'not debited yet, not released');
    r.loadHook = undefined;
    t.is(await r.settle(), 1);
    t.is(await r.settle(), 0, 'a second settlement finds nothing left');
    t.deepEqual(r.issuer.statuses(), ['committed']);
    t.is(r.issuer.balance, 1_000_000 - 1_500);
    t.is(await r.archivedLoads(), 1);
    t.is(r.mail.length, 1);
    t.like(r.mail[0], { type: 'topup' });
  });

  test(`When the card did not load and ${what}, settlement voids the reservation and archives nothing`, async (t) => {
    const r = await rig(t);
    r.loadHook = async () => {
      throw lost();
    };
    await t.throwsAsync(r.manager.topup(TERMINAL, 1_500));
    t.is((await r.loads.pending()).length, 1);
    r.loadHook = undefined;
    await r.settle();
    t.deepEqual(r.issuer.statuses(), ['voided']);
    t.is(r.issuer.balance, 1_000_000);
    t.is(await r.archivedLoads(), 0);
    t.deepEqual(r.mail, []);
    t.deepEqual(await r.loads.pending(), []);
  });
}

test("When a top-up's answer was lost, the next top-up settles it first, while the card still names it as its latest load", async (t) => {
  const r = await rig(t);
  r.loadHook = async (_card, run) => {
    await run();
    throw new CardError(CardErrorCode.ExchangeInterrupted, 'line dropped');
  };
  await t.throwsAsync(r.manager.topup(TERMINAL, 1_000));
  r.loadHook = undefined;
  await r.manager.topup(TERMINAL, 2_000);
  t.deepEqual(r.issuer.statuses(), ['committed', 'committed']);
  t.is(r.issuer.balance, 1_000_000 - 3_000);
  t.is(await r.archivedLoads(), 2);
  t.is(r.mail.length, 2);
  t.deepEqual(await r.loads.pending(), []);
});

test(
  'When the gateway dies between the issuer reservation and LOAD, the restarted gateway finds the load not on the card and voids the ' + 'reservation',
  async (t) => {
    const r = await rig(t);
    // The process dies with LOAD unsent: the journal on disk is all that survives.
    r.loadHook = async () => {
      throw new Error('process killed');
    };
    await t.throwsAsync(r.manager.topup(TERMINAL, 3_000));
    const restarted = new LoadIntents(r.journalPath);
    t.is((await restarted.pending()).length, 1);
    const settled = await settleLoadsOnCard(
      r.fx.card,
      r.fx.cardId,
      {
        history: r.history,
        loads: restarted,
        mailer: { notify: async (n) => void r.mail.push(n) },
        issuer: r.issuer as unknown as IssuerClient,
        cardCertificate: undefined,
        logger: silentLogger,
      },
      new Date(),
    );
    t.is(settled, 1);
    t.deepEqual(r.issuer.statuses(), ['voided']);
    t.is(r.issuer.balance, 1_000_000);
    t.deepEqual(await restarted.pending(), []);
    t.is(await r.archivedLoads(), 0);
    t.like(await r.fx.card.purseStatus(), { balance: INITIAL_BALANCE, counter: 0 });
  },
);
