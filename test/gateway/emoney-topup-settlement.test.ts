/**
 * Top-up rules the manager applies before the issuer is asked (household and
 * terminal monthly limits, no issuer), and how load-settlement.ts ends a load
 * when the issuer does not answer or refuses: archived and mailed once,
 * committed once, the intent kept only while a retry can still change it.
 */
import test from 'ava';
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import { PeerError } from '../../gateway/emoney/https-json.js';
import { loadRefusedByCard, settleLoadsOnCard, type SettlementDeps } from '../../gateway/emoney/load-settlement.js';
import { silentLogger } from '../../card-io/base/log.js';
import { INITIAL_BALANCE } from '../card-io/purse-fixtures.js';
import { moneyHousehold, type MoneyHousehold } from '../helpers/fakes/household.js';
import { answered } from '../helpers/api-refusal.js';

function deps(h: MoneyHousehold): SettlementDeps {
  return {
    history: h.history,
    loads: h.loads,
    mailer: { notify: async (n) => void h.mail.push(n) },
    issuer: h.issuer.client,
    cardCertificate: h.cardCertificate,
    logger: silentLogger,
  };
}

const archivedLoads = async (h: MoneyHousehold) => (await h.history.list()).filter((e) => e.kind === 'load');
const mailIds = (h: MoneyHousehold) => [...new Set(h.mail.map((n) => n.id))];

test(
  "When a terminal's top-ups this month would pass its monthly limit, the " + 'top-up is refused as topup-limit before the issuer or the card is asked',
  async (t) => {
    const h = await moneyHousehold(t);
    const kitchen = await h.terminal('kitchen');
    const hall = await h.terminal('hall');
    const m = h.manager({ limits: { householdMonthly: 10_000, terminalMonthly: 3_000 } });
    await m.topup(kitchen, 2_000);
    const calls = h.issuer.calls.length;
    const uses = h.cards.uses;
    t.like(await answered(m.topup(kitchen, 1_001)), { status: 409, code: 'topup-limit' });
    t.is(h.issuer.calls.length, calls);
    t.is(h.cards.uses, uses);
    t.like((await m.topup(hall, 3_000)).load, { amount: 3_000 }, 'another terminal has its own allowance');
    t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE + 5_000 });
  },
);

test("When the household's top-ups this month would pass its monthly limit, every terminal is refused as topup-limit", async (t) => {
  const h = await moneyHousehold(t);
  const [kitchen, hall] = [await h.terminal('kitchen'), await h.terminal('hall')];
  const m = h.manager({ limits: { householdMonthly: 4_000, terminalMonthly: 4_000 } });
  await m.topup(kitchen, 2_500);
  t.like(await answered(m.topup(hall, 1_501)), { status: 409, code: 'topup-limit' });
  t.deepEqual(h.issuer.statuses(), ['committed']);
});

test('When no issuer is configured, a top-up is refused as issuer-refused and the card is not touched', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  t.like(await answered(h.manager({ issuer: null }).topup(kitchen, 100)), { status: 409, code: 'issuer-refused' });
  t.is(h.cards.uses, 1, 'only the unlock used the card');
});

test(
  'When the issuer does not answer the commit, the load is archived and mailed, its ' +
    'intent kept, and the next settlement commits it once without a second archive entry or mail',
  async (t) => {
    const h = await moneyHousehold(t);
    const kitchen = await h.terminal('kitchen');
    h.issuer.commitFails = new PeerError('unreachable', 'issuer down');
    t.like((await h.manager().topup(kitchen, 1_000)).load, { amount: 1_000 });
    t.deepEqual(h.issuer.statuses(), ['reserved']);
    t.is((await h.loads.pending()).length, 1, 'kept for the retry');
    t.is((await archivedLoads(h)).length, 1);
    h.issuer.commitFails = new PeerError('refused', 'busy', 503);
    await settleLoadsOnCard(h.fx.card, h.fx.cardId, deps(h), new Date(h.now));
    t.is((await h.loads.pending()).length, 1, 'a 5xx is tried again later');
    h.issuer.commitFails = undefined;
    t.is(await settleLoadsOnCard(h.fx.card, h.fx.cardId, deps(h), new Date(h.now)), 1);
    t.deepEqual(h.issuer.statuses(), ['committed']);
    t.is(h.issuer.balance, 1_000_000 - 1_000);
    t.deepEqual(await h.loads.pending(), []);
    t.is((await archivedLoads(h)).length, 1);
    t.is(mailIds(h).length, 1, 'one mail id: the outbox sends it once');
  },
);

test('When the issuer refuses the commit for good (4xx), the load stays archived and its intent is dropped instead of retried forever', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  h.issuer.commitFails = new PeerError('refused', 'reservation expired', 410, 'load-expired');
  await h.manager().topup(kitchen, 700);
  t.deepEqual(await h.loads.pending(), []);
  t.is((await archivedLoads(h)).length, 1);
  t.like(await h.fx.card.purseStatus(), { balance: INITIAL_BALANCE + 700 });
});

test("When LOAD fails, only the card's own refusals of LOAD count as nothing happened; anything else leaves the outcome to the card's receipt", (t) => {
  for (const code of [CardErrorCode.SecurityStatusNotSatisfied, CardErrorCode.ConditionsNotSatisfied, CardErrorCode.WrongData, CardErrorCode.LimitExceeded]) {
    t.true(loadRefusedByCard(new CardError(code, 'refused')), `card code ${code}`);
  }
  for (const code of [CardErrorCode.ExchangeInterrupted, CardErrorCode.WrongLength, CardErrorCode.ClaNotSupported, CardErrorCode.CommandTimeout]) {
    t.false(loadRefusedByCard(new CardError(code, 'unknown outcome')), `card code ${code}`);
  }
  t.false(loadRefusedByCard(new Error('socket closed')));
  t.false(loadRefusedByCard(undefined));
});
