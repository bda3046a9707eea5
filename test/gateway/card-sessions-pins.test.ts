/**
 * CardSessions and the PIN rules, against an in-memory card that counts
 * tries like PROTOCOL.md (a right PIN restores the counter). The same rules
 * through the real emulator and the terminal API: test/e2e/card-sessions.test.ts.
 */
import test, { type ExecutionContext } from 'ava';
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import { CardSessions } from '../../gateway/card/card-sessions.js';
import type { CardService } from '../../gateway/card/card-service.js';
import { PinThrottle } from '../../gateway/card/pin-throttle.js';
import { isCardSessionError } from '../../gateway/card/card-session-error.js';
import { toHttpError } from '../../gateway/terminal-api/http-errors.js';
import { capturingLogger } from '../helpers/link-probes.js';

const PIN1 = '1234';
const PIN2 = '5678';

/** One card: PIN1/PIN2 counters (max 3) and a per-session PIN1 state, reset by SELECT. */
function fakeCard() {
  const counters = { pin1: { left: 3, max: 3 }, pin2: { left: 3, max: 3 }, puk: { left: 10, max: 10 }, admin: { left: 10, max: 10 } };
  const presented: string[] = [];
  let pin1Verified = false;
  const check = (which: 'PIN1' | 'PIN2', right: string, pin: string) => {
    const c = which === 'PIN1' ? counters.pin1 : counters.pin2;
    presented.push(which);
    if (c.left === 0) throw new CardError(CardErrorCode.PinBlocked, `${which} is blocked`, { pin: which, triesLeft: 0 });
    if (pin !== right) {
      c.left--;
      throw new CardError(CardErrorCode.WrongPin, `Wrong ${which}`, { pin: which, triesLeft: c.left });
    }
    c.left = c.max;
  };
  const card = {
    select: async () => {
      pin1Verified = false;
      return {};
    },
    retryCounters: async () => structuredClone(counters),
    verifyPin1: async (pin: string) => {
      check('PIN1', PIN1, pin);
      pin1Verified = true;
    },
    verifyPin2: async (pin: string) => {
      if (!pin1Verified) throw new CardError(CardErrorCode.SecurityStatusNotSatisfied, 'no PIN1');
      check('PIN2', PIN2, pin);
    },
  };
  const cards = {
    exclusive: async <T>(fn: (c: HomeCard) => Promise<T>) => fn(card as unknown as HomeCard),
    lease: async () => ({ card: card as unknown as HomeCard, release: () => undefined }),
    onReset: () => () => undefined,
    cardId: 'c0ffee0000000001',
  } as unknown as CardService & { cardId: string };
  return { cards, counters, presented, card: card as unknown as HomeCard };
}

function setup(t: ExecutionContext, o: { baseDelayMs?: number } = {}) {
  const f = fakeCard();
  const logger = capturingLogger();
  let now = 1_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const sessions = new CardSessions({
    cards: f.cards,
    logger,
    throttle: new PinThrottle({ baseDelayMs: o.baseDelayMs ?? 0, maxDelayMs: 8000, clock: clock.now }),
  });
  t.teardown(() => sessions.closeAll()); // its idle timers
  return { ...f, logger, clock, sessions };
}

/** The card session's refusal, as the terminal API answers it (status, code and fields). */
async function refusal(p: Promise<unknown>): Promise<{ status: number; code: string; message: string; fields: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    if (!isCardSessionError(e)) throw e;
    const { status, code, body } = toHttpError(e);
    return { status, code, message: body.error.message, fields: body.error };
  }
  throw new Error('expected a refusal');
}

test(
  "When terminal B types a wrong PIN1, unlocked terminal A's next request does not re-present its PIN1, so the counter only goes down until a person " +
    'types the right PIN1',
  async (t) => {
    const s = setup(t);
    await s.sessions.unlock('A', PIN1);
    const before = s.presented.length;

    t.like((await refusal(s.sessions.unlock('B', '0000'))).fields, { pin: 'PIN1', triesLeft: 2 });
    t.like(await refusal(s.sessions.lease('A')), { status: 423, code: 'card-locked' });
    t.false(s.sessions.isOpen('A'), 'A must unlock again');
    t.like((await refusal(s.sessions.unlock('B', '0000'))).fields, { triesLeft: 1 });
    t.is(s.counters.pin1.left, 1);
    t.deepEqual(s.presented.slice(before), ['PIN1', 'PIN1'], "only B's typed tries reached the card");

    await s.sessions.unlock('A', PIN1); // a person types the right PIN1
    t.is(s.counters.pin1.left, 3);
  },
);

test(
  "When the card's PIN1 counter is not full at a terminal switch (a wrong try the gateway did not see), the cached PIN1 is not re-presented and the " +
    'session ends',
  async (t) => {
    const s = setup(t);
    await s.sessions.unlock('A', PIN1);
    await s.sessions.unlock('B', PIN1);
    s.counters.pin1.left = 2; // e.g. a wrong try through another path
    const before = s.presented.length;

    const err = await refusal(s.sessions.lease('A'));
    t.like(err, { status: 423, code: 'card-locked' });
    t.is(err.fields.reason, 'pin1-tried');
    t.is(s.presented.length, before, 'no PIN was presented');
    t.is(s.counters.pin1.left, 2);
    t.false(s.sessions.isOpen('A'));
  },
);

test('When another card is on the line than the one a terminal unlocked, its cached PIN1 is not presented to it', async (t) => {
  const s = setup(t);
  await s.sessions.unlock('A', PIN1);
  await s.sessions.unlock('B', PIN1);
  s.cards.cardId = 'c0ffee0000000002'; // swapped while the line was down
  const before = s.presented.length;
  t.like(await refusal(s.sessions.lease('A')), { status: 423, code: 'card-locked' });
  t.is(s.presented.length, before);
  t.false(s.sessions.isOpen('A'));
});

test("When the card's PIN1 counter is full, switching terminals re-presents the cached PIN1 and the request goes through", async (t) => {
  const s = setup(t);
  await s.sessions.unlock('A', PIN1);
  await s.sessions.unlock('B', PIN1);
  const lease = await s.sessions.lease('A');
  lease.release();
  t.true(s.sessions.isOpen('A'));
  t.is(s.presented.at(-1), 'PIN1');
});

test(
  'Repeated wrong PIN tries from one terminal get a growing delay (retryAfterMs), a try inside it is refused as pin-throttled without reaching the card, ' +
    'and other terminals are not delayed',
  async (t) => {
    const s = setup(t, { baseDelayMs: 1000 });
    const first = await refusal(s.sessions.unlock('B', '0000'));
    t.like(first, { status: 401, code: 'pin-wrong' });
    t.is(first.fields.retryAfterMs, 1000);

    const tries = s.presented.length;
    const throttled = await refusal(s.sessions.unlock('B', PIN1));
    t.like(throttled, { status: 429, code: 'pin-throttled' });
    t.is(throttled.fields.retryAfterMs, 1000);
    t.is(s.presented.length, tries, 'the throttled try did not reach the card');
    s.clock.advance(400);
    t.is((await refusal(s.sessions.unlock('B', PIN1))).fields.retryAfterMs, 600);

    await s.sessions.unlock('A', PIN1); // another terminal is not delayed
    s.clock.advance(600);
    t.is((await refusal(s.sessions.unlock('B', '0000'))).fields.retryAfterMs, 2000);
    await s.sessions.unlock('A', PIN1);
    s.clock.advance(2000);
    t.is((await refusal(s.sessions.unlock('B', '0000'))).fields.retryAfterMs, 4000);
    await s.sessions.unlock('A', PIN1);
    s.clock.advance(4000);
    await s.sessions.unlock('B', PIN1);
    await s.sessions.lock('B');
    t.is((await refusal(s.sessions.unlock('B', '0000'))).fields.retryAfterMs, 1000, 'the right PIN1 cleared the delay');
  },
);

test('Wrong PIN2 tries are delayed per terminal like PIN1, and a PIN2 is never presented again by the gateway', async (t) => {
  const s = setup(t, { baseDelayMs: 500 });
  await s.sessions.unlock('A', PIN1);
  const lease = await s.sessions.lease('A');
  try {
    t.is((await refusal(s.sessions.verifyPin2('A', lease.card, '0000'))).fields.retryAfterMs, 500);
    t.like(await refusal(s.sessions.verifyPin2('A', lease.card, PIN2)), { code: 'pin-throttled' });
    s.clock.advance(500);
    t.is((await refusal(s.sessions.verifyPin2('A', lease.card, '0000'))).fields.retryAfterMs, 1000);
  } finally {
    lease.release();
  }
  t.is(s.counters.pin2.left, 1);
  t.true(s.sessions.isOpen('A'), 'a wrong PIN2 leaves the PIN1 session open');
  await (await s.sessions.lease('A')).release();
  t.is(s.counters.pin2.left, 1, 'nothing the gateway did restored PIN2');
});

test("Every PIN try is logged with the terminal, the PIN's name and the outcome, and never the PIN", async (t) => {
  const s = setup(t, { baseDelayMs: 1000 });
  await refusal(s.sessions.unlock('B', '9876'));
  await s.sessions.unlock('A', PIN1);
  const lines = s.logger.records.map((r) => JSON.stringify(r));
  t.true(
    s.logger.records.some(
      (r) => r.msg === 'wrong PIN try' && r.fields.terminal === 'B' && r.fields.pin === 'PIN1' && r.fields.retryAfterMs === 1000 && r.fields.triesLeft === 2,
    ),
  );
  t.true(s.logger.records.some((r) => r.msg === 'PIN accepted' && r.fields.terminal === 'A'));
  for (const l of lines) {
    t.false(l.includes('9876'), l);
    t.false(l.includes(PIN1), l);
  }
});

test('A blocked PIN1 is refused as pin-blocked with a message naming "homegate card unblock 1"', async (t) => {
  const s = setup(t);
  for (let i = 0; i < 3; i++) await refusal(s.sessions.unlock('B', '0000'));
  const err = await refusal(s.sessions.unlock('A', PIN1));
  t.like(err, { status: 423, code: 'pin-blocked' });
  t.true(err.message.includes('homegate card unblock 1'), err.message);
  t.is(err.fields.unblockCommand, 'homegate card unblock 1');
});

test(
  "When a terminal's session ends while its request waits for the card, the request is refused as card-locked and its dropped PIN1 is never " + 'presented',
  async (t) => {
    const s = setup(t);
    await s.sessions.unlock('A', PIN1);
    await s.sessions.unlock('B', PIN1);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const lease = s.cards.lease.bind(s.cards);
    Object.assign(s.cards, { lease: async () => (await gate, lease()) });

    const waiting = refusal(s.sessions.lease('A'));
    await refusal(s.sessions.unlock('B', '0000')); // ends A's session
    await s.sessions.unlock('B', PIN1); // the counter is full again
    const before = s.presented.length;
    open();
    t.like(await waiting, { status: 423, code: 'card-locked' });
    t.is(s.presented.length, before, 'nothing was presented for A');
  },
);
