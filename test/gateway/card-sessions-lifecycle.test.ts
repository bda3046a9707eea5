/**
 * Card sessions over the reference card in memory (the applet keeps the
 * security state, SELECT resets it: ISO 7816-4 §7.1.1, PROTOCOL.md), and the
 * per-terminal PIN throttle on its own clock. The PIN-counter rules with a
 * counting fake card: card-sessions-pins.test.ts.
 */
import test from 'ava';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { PinThrottle } from '../../gateway/card/pin-throttle.js';
import { moneyHousehold, PINS } from '../helpers/fakes/household.js';
import { answered } from '../helpers/api-refusal.js';

/** Whether the card holds a verified PIN1 now: PIN2 is only taken after PIN1 (PROTOCOL.md). */
async function pin1Verified(card: { verifyPin2(p: string): Promise<void>; resetPinState(w: 'PIN2'): Promise<void> }): Promise<boolean> {
  try {
    await card.verifyPin2(PINS.pin2);
    await card.resetPinState('PIN2');
    return true;
  } catch (e) {
    if (isCardError(e, CardErrorCode.SecurityStatusNotSatisfied)) return false;
    throw e;
  }
}

test("When a terminal locks its session, the card's security state is reset and its next request is refused as card-locked", async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  t.true(await pin1Verified(h.fx.card));
  await h.sessions.lock(kitchen.id);
  t.false(await pin1Verified(h.fx.card));
  t.like(await answered(h.sessions.lease(kitchen.id)), { status: 423, code: 'card-locked' });
});

test('When a wrong PIN1 is typed at unlock, no session opens and the answer is pin-wrong with the tries left', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  await h.sessions.lock(kitchen.id);
  t.like(await answered(h.sessions.unlock(kitchen.id, '9999')), { status: 401, code: 'pin-wrong', fields: { pin: 'PIN1', triesLeft: 2 } });
  t.false(h.sessions.isOpen(kitchen.id));
  t.false(h.cards.held());
});

test("When the admin socket works on a fresh card session, no terminal's PIN1 state is in it and none is left behind", async (t) => {
  const h = await moneyHousehold(t);
  await h.terminal('kitchen');
  const inside = await h.sessions.withFreshCard((card) => pin1Verified(card));
  t.false(inside, "the terminal's verified PIN1 is not lent to the admin work");
  await h.sessions.withFreshCard((card) => card.verifyPin1(PINS.pin1));
  t.false(await pin1Verified(h.fx.card), 'what the admin work verified ends with it');
});

test('When the card was reset (power cycle), an open session presents its PIN1 again on its next request and goes through', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  await h.fx.card.select(); // the reset: the card forgets every verified PIN
  h.cards.reset();
  const lease = await h.sessions.lease(kitchen.id);
  try {
    t.true(await pin1Verified(lease.card));
  } finally {
    lease.release();
  }
});

test("When the card is not available, a terminal's request answers card-absent and its session stays open for when the card is back", async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  h.cards.absent = true;
  t.like(await answered(h.sessions.lease(kitchen.id)), { status: 503, code: 'card-absent' });
  t.true(h.sessions.isOpen(kitchen.id));
  h.cards.absent = false;
  (await h.sessions.lease(kitchen.id)).release();
});

test("When wrong tries keep coming, the throttle's wait stops growing at its maximum", (t) => {
  const throttle = new PinThrottle({ baseDelayMs: 1000, maxDelayMs: 5000, clock: () => 0 });
  const waits = Array.from({ length: 40 }, () => throttle.failed('A', 'PIN1'));
  t.deepEqual(waits.slice(0, 4), [1000, 2000, 4000, 5000]);
  t.true(waits.every((w) => w <= 5000));
});

test('When a terminal types the right PIN, its delay for that PIN ends; a PIN1 delay does not hold back its PIN2', async (t) => {
  let now = 0;
  const throttle = new PinThrottle({ baseDelayMs: 1000, clock: () => now });
  throttle.failed('A', 'PIN1');
  t.like(await answered(Promise.resolve().then(() => throttle.check('A', 'PIN1'))), {
    status: 429,
    code: 'pin-throttled',
    fields: { pin: 'PIN1', retryAfterMs: 1000 },
  });
  t.notThrows(() => throttle.check('A', 'PIN2'));
  now = 1000;
  t.notThrows(() => throttle.check('A', 'PIN1'), 'the wait is over');
  t.is(throttle.failed('A', 'PIN1'), 2000, 'still counting: the next wrong try waits longer');
  throttle.succeeded('A', 'PIN1');
  t.notThrows(() => throttle.check('A', 'PIN1'));
  t.is(throttle.failed('A', 'PIN1'), 1000, 'counting starts again');
});

test('When a terminal is forgotten (revoked), its PIN1 and PIN2 delays go, and a base delay of 0 never delays', (t) => {
  const throttle = new PinThrottle({ baseDelayMs: 1000, clock: () => 0 });
  throttle.failed('A', 'PIN1');
  throttle.failed('A', 'PIN2');
  throttle.forget('A');
  t.notThrows(() => throttle.check('A', 'PIN1'));
  t.notThrows(() => throttle.check('A', 'PIN2'));
  const off = new PinThrottle({ baseDelayMs: 0, clock: () => 0 });
  for (let i = 0; i < 5; i++) t.is(off.failed('A', 'PIN1'), 0);
  t.notThrows(() => off.check('A', 'PIN1'));
});
