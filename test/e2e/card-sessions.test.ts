/**
 * PIN1 and PIN2 through the whole stack (claim 3), and two terminals sharing
 * one home card: each terminal's card session is its own, and the card is
 * released by PIN2 only inside the session PIN1 opened.
 */
import test from 'ava';
import type { PinSource } from '../../card-io/access-card/access-card.js';
import { marketRequest } from '../../card-io/access-card/market-request.js';
import { DEMO_PINS, MARKET, refusalOf, startHousehold, normName } from '../helpers/household/index.js';
import { capturingLogger } from '../helpers/link-probes.js';

const pins =
  (pin1: string, pin2: string): PinSource =>
  async (which) =>
    which === 'PIN1' ? pin1 : pin2;

test.serial("A wrong PIN1 is refused as pin-wrong with two tries left, and the terminal's card session stays closed", async (t) => {
  const h = await startHousehold(t);
  const wrong = await h.accessCard(undefined, pins('0000', DEMO_PINS.pin2));

  t.like(await refusalOf(wrong.unlock()), { status: 401, code: 'pin-wrong', pin: 'PIN1', triesLeft: 2 });
  t.false(await wrong.isUnlocked());
  t.like(await refusalOf(wrong.unlock()), { status: 401, code: 'pin-wrong', pin: 'PIN1', triesLeft: 1 });

  // The right PIN1 still opens the session and restores the counter.
  const right = await h.accessCard();
  await right.unlock();
  t.true(await right.isUnlocked());
  await right.lock();
  t.like(await refusalOf(wrong.unlock()), { code: 'pin-wrong', pin: 'PIN1', triesLeft: 2 });
});

test.serial('A wrong PIN2 in an open card session is refused as pin-wrong with its tries left, and nothing reaches the market', async (t) => {
  const h = await startHousehold(t);
  const access = await h.accessCard(undefined, pins(DEMO_PINS.pin1, '0000'));
  await access.unlock();

  t.like(await refusalOf(access.authorize(MARKET)), { status: 401, code: 'pin-wrong', pin: 'PIN2', triesLeft: 2 });
  t.like(await refusalOf(access.authorize(MARKET)), { status: 401, code: 'pin-wrong', pin: 'PIN2', triesLeft: 1 });
  t.is(h.relay.connections(), 0, 'the gateway did not contact the market');
  t.true(await access.isUnlocked(), 'a wrong PIN2 does not close the PIN1 session');

  const right = await h.accessCard();
  const session = await right.authorize(MARKET);
  t.true(session.session.length > 0);
  t.like(await refusalOf(access.authorize(MARKET)), { code: 'pin-wrong', pin: 'PIN2', triesLeft: 2 }, 'the right PIN2 restored its counter');
});

test.serial('PIN2 without PIN1 (an authorization without unlocking) is refused as card-locked, before the card is asked', async (t) => {
  const h = await startHousehold(t);
  const access = await h.accessCard();
  t.false(await access.isUnlocked());
  const commands = h.gateway.cards.commandCount;

  t.like(await refusalOf(access.gateway.post('/v1/authorize', { market: MARKET, pin2: DEMO_PINS.pin2 })), { status: 423, code: 'card-locked' });
  t.is(h.gateway.cards.commandCount, commands, 'PIN2 was not presented to the card');
  t.is(h.relay.connections(), 0);
});

test.serial(
  'Two terminals unlock and authorize at the same time, round after round: both get sessions that resume as the card, and neither sees the ' +
    "other's card session",
  async (t) => {
    const h = await startHousehold(t);
    const laptop = (await h.admin('POST', '/admin/terminals', { name: 'laptop', mail: 'laptop@household.example' })).terminal as {
      id: string;
      profileDir: string;
    };
    t.is(laptop.profileDir, h.profileDir('laptop'));
    const a = await h.accessCard('demo');
    const b = await h.accessCard('laptop');
    t.is(b.profile.terminalId, laptop.id);

    // A's card session is A's alone.
    await a.unlock();
    t.true(await a.isUnlocked());
    t.false(await b.isUnlocked());
    t.like(await refusalOf(b.gateway.post('/v1/authorize', { market: MARKET, pin2: DEMO_PINS.pin2 })), { status: 423, code: 'card-locked' });
    t.true(await a.isUnlocked(), "B's refused attempt did not disturb A");

    await Promise.all([a.unlock(), b.unlock()]);
    for (let round = 1; round <= 3; round++) {
      const sessions = await Promise.all([a.authorize(MARKET), b.authorize(MARKET)]);
      const whos = await Promise.all(
        sessions.map(async (s) => JSON.parse((await marketRequest(s, { method: 'GET', path: '/whoami' })).body.toString('utf8')) as Record<string, unknown>),
      );
      for (const [i, who] of whos.entries()) {
        t.true(who.resumed, `round ${round}, terminal ${i}`);
        t.is(normName(who.clientIssuer), normName(h.cardSubject()), `round ${round}, terminal ${i}`);
        t.is(normName(who.clientSubject), normName(sessions[i]!.clientSubject));
      }
      t.false(sessions[0]!.session.equals(sessions[1]!.session), 'each authorization is its own session');
    }

    // Locking one terminal leaves the other's session open, and the locked one is refused again.
    await a.lock();
    t.false(await a.isUnlocked());
    t.true(await b.isUnlocked());
    t.like(await refusalOf(a.gateway.post('/v1/authorize', { market: MARKET, pin2: DEMO_PINS.pin2 })), { status: 423, code: 'card-locked' });
    t.true((await b.authorize(MARKET)).session.length > 0);
  },
);

test.serial(
  "When terminal B types wrong PIN1s, requests from unlocked terminal A do not restore the card's counter: it goes down with every wrong try " +
    'until a person types the right PIN1',
  async (t) => {
    const h = await startHousehold(t);
    await h.admin('POST', '/admin/terminals', { name: 'laptop', mail: 'laptop@household.example' });
    const a = await h.accessCard('demo');
    const b = await h.accessCard('laptop', pins('0000', DEMO_PINS.pin2));
    await a.unlock();

    t.like(await refusalOf(b.unlock()), { code: 'pin-wrong', pin: 'PIN1', triesLeft: 2 });
    // A's cached PIN1 is not presented for it: A's person must unlock again.
    t.like(await refusalOf(a.gateway.post('/v1/authorize', { market: MARKET, pin2: DEMO_PINS.pin2 })), { status: 423, code: 'card-locked' });
    t.false(await a.isUnlocked());
    t.like(await refusalOf(b.unlock()), { code: 'pin-wrong', pin: 'PIN1', triesLeft: 1 });
    t.like(await refusalOf(a.gateway.get('/v1/purse')), { status: 423, code: 'card-locked' });
    t.like(await refusalOf(b.unlock()), { code: 'pin-wrong', pin: 'PIN1', triesLeft: 0 });

    const blocked = await refusalOf(a.unlock());
    t.like(blocked, { status: 423, code: 'pin-blocked', pin: 'PIN1', unblockCommand: 'homegate card unblock 1' });
    t.true(String(blocked.message).includes('homegate card unblock 1'), String(blocked.message));
  },
);

test.serial(
  'A terminal that repeats a wrong PIN1 is told to wait (retryAfterMs), its early retry is refused as pin-throttled without costing a try, and the ' +
    'tries are logged without the PIN',
  async (t) => {
    const logger = capturingLogger();
    const h = await startHousehold(t, { logger, sessions: { pinRetryDelayMs: 60_000 } });
    await h.admin('POST', '/admin/terminals', { name: 'laptop', mail: 'laptop@household.example' });
    const b = await h.accessCard('laptop', pins('9081', DEMO_PINS.pin2));
    const a = await h.accessCard('demo', pins('9081', DEMO_PINS.pin2));

    t.like(await refusalOf(b.unlock()), { status: 401, code: 'pin-wrong', triesLeft: 2, retryAfterMs: 60_000 });
    const commands = h.gateway.cards.commandCount;
    const early = await refusalOf(b.unlock());
    t.like(early, { status: 429, code: 'pin-throttled', pin: 'PIN1' });
    t.true(Number(early.retryAfterMs) > 0 && Number(early.retryAfterMs) <= 60_000);
    t.is(h.gateway.cards.commandCount, commands, 'the throttled try never reached the card');
    // Another terminal is not held back by B's delay, and B's early retry cost no try.
    t.like(await refusalOf(a.unlock()), { status: 401, code: 'pin-wrong', triesLeft: 1 });

    const wrongTries = logger.records.filter((r) => r.msg === 'wrong PIN try');
    t.is(wrongTries.length, 2);
    t.like(wrongTries[0]!.fields, { pin: 'PIN1', retryAfterMs: 60_000 });
    t.false(
      logger.records.some((r) => JSON.stringify(r).includes('9081')),
      'no log line holds the PIN',
    );
  },
);
