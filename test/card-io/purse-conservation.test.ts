/**
 * Money conservation (PROTOCOL.md, "Purse"): in any sequence of PAY, CANCEL
 * and LOAD, accepted or refused, the card's balance is always
 *
 *   initial + Σ accepted loads − Σ amounts of payments not cancelled,
 *
 * and every answer (accepted, 6910, 6911, 6A88, 6985) is the one a simple
 * model of the limits predicts. Random but replayable: HOMEGATE_SEED=<seed>.
 */
import test from 'ava';
import fc from 'fast-check';
import { createHomeCardApplet } from '../../card-io/emulator/applet.js';
import { createMemoryCardStore } from '../../card-io/emulator/card-store.js';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { HomeCard, verifySignedRecord } from '../../card-io/home-card/index.js';
import { seedFromEnv } from '../helpers/seeded-random.js';
import { DAY, DAY0, INITIAL_BALANCE, LIMITS, PINS, cancelRequest, loadRequest, payAt, purseFixture, type PurseFixture } from './purse-fixtures.js';

type Op = { kind: 'pay'; amount: number; dt: number } | { kind: 'cancel'; pick: number } | { kind: 'load'; amount: number };

/** Payments weigh most, so that the balance runs low (6910) as well as over the limits (6911). */
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('pay' as const), amount: fc.integer({ min: 1, max: 6_000 }), dt: fc.integer({ min: -250, max: DAY / 2 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('load' as const), amount: fc.integer({ min: 1, max: 90_000 }) }) },
);

type Outcome = 'ok' | CardErrorCode;

interface Payment {
  seq: number;
  amount: number;
  cancelled: boolean;
  record: Parameters<typeof cancelRequest>[1];
}

/** The purse as the test expects it; the balance is only ever derived, never kept. */
class Model {
  loads = 0;
  payments: Payment[] = [];
  counter = 0;
  lastTime = 0;
  day = 0;
  spent = 0;

  balance(): number {
    const active = this.payments.filter((p) => !p.cancelled).reduce((sum, p) => sum + p.amount, 0);
    return INITIAL_BALANCE + this.loads - active;
  }

  predictPay(amount: number, time: number): Outcome {
    const day = Math.floor(time / DAY);
    const spent = day > this.day ? 0 : this.spent;
    if (amount > LIMITS.perPaymentLimit || spent + amount > LIMITS.dailyLimit) return CardErrorCode.LimitExceeded;
    return amount > this.balance() ? CardErrorCode.InsufficientFunds : 'ok';
  }

  paid(p: Payment, time: number): void {
    const day = Math.floor(time / DAY);
    this.spent = (day > this.day ? 0 : this.spent) + p.amount;
    this.day = Math.max(day, this.day);
    this.lastTime = Math.max(this.lastTime, time);
    this.payments.push(p);
    this.counter++;
  }

  predictCancel(p: Payment): Outcome {
    if (!this.payments.slice(-32).includes(p)) return CardErrorCode.NotFound;
    return p.cancelled ? CardErrorCode.ConditionsNotSatisfied : 'ok';
  }

  predictLoad(amount: number): Outcome {
    return this.balance() + amount > LIMITS.maxBalance ? CardErrorCode.LimitExceeded : 'ok';
  }
}

async function outcome<T>(run: Promise<T>): Promise<{ outcome: Outcome; value?: T }> {
  try {
    return { outcome: 'ok', value: await run };
  } catch (e) {
    if (!isCardError(e)) throw e;
    return { outcome: e.code };
  }
}

/** Runs `ops` on a fresh copy of the personalized card; returns what went wrong, or null. */
async function runSequence(base: PurseFixture, ops: Op[], tally: Map<string, number>): Promise<string | null> {
  const applet = createHomeCardApplet({ store: createMemoryCardStore(base.store.state) });
  const fx = { ...base, card: new HomeCard({ transport: { transmit: (apdu) => applet.process(apdu) } }) };
  await fx.card.select();
  await fx.card.verifyPin1(PINS.pin1);
  const m = new Model();
  let clock = DAY0;
  for (const [i, o] of ops.entries()) {
    let expected: Outcome;
    let got: Outcome;
    if (o.kind === 'pay') {
      const time = Math.max(clock + o.dt, m.lastTime - 300);
      expected = m.predictPay(o.amount, time);
      const r = await outcome(payAt(fx, o.amount, time, `order-${i}`));
      got = r.outcome;
      if (r.value) {
        if (!verifySignedRecord(r.value, fx.cardKey)) return `op ${i}: the record does not verify`;
        m.paid({ seq: r.value.seq, amount: o.amount, cancelled: false, record: r.value }, time);
        if (r.value.seq !== m.counter) return `op ${i}: seq ${r.value.seq}, expected ${m.counter}`;
      } else {
        await fx.card.resetPinState('PIN2'); // a refused PAY keeps the release; start the next op clean
      }
      clock = Math.max(clock, time);
    } else if (o.kind === 'cancel') {
      if (m.payments.length === 0) continue;
      const p = m.payments[o.pick % m.payments.length]!;
      expected = m.predictCancel(p);
      got = (await outcome(fx.card.cancel(cancelRequest(fx, p.record)))).outcome;
      if (got === 'ok') {
        p.cancelled = true;
        m.counter++;
      }
    } else {
      expected = m.predictLoad(o.amount);
      const challenge = await fx.card.loadChallenge();
      got = (await outcome(fx.card.load(loadRequest(fx, o.amount, challenge)))).outcome;
      if (got === 'ok') {
        m.loads += o.amount;
        m.counter++;
      }
    }
    if (got !== expected) return `op ${i} ${JSON.stringify(o)}: card ${got}, model ${expected}`;
    const key = `${o.kind} ${got === 'ok' ? 'ok' : `HG-${got}`}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
    const status = await fx.card.purseStatus();
    if (status.balance !== m.balance() || status.counter !== m.counter) {
      return `op ${i}: card balance ${status.balance} counter ${status.counter}, expected ${m.balance()} and ${m.counter}`;
    }
  }
  return null;
}

test('Money is conserved in any sequence of pay, cancel and load: balance = initial + loads - active payments', async (t) => {
  const seed = seedFromEnv();
  t.log(`seed ${seed} (set HOMEGATE_SEED to replay)`);
  const base = await purseFixture(t, { storage: 'memory' });
  const tally = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60, size: 'medium' }), async (ops) => {
      const failure = await runSequence(base, ops, tally);
      if (failure !== null) throw new Error(failure);
    }),
    { seed: seed | 0, numRuns: 20 },
  );
  t.log(
    `outcomes: ${[...tally]
      .sort()
      .map(([k, n]) => `${k} ×${n}`)
      .join(', ')}`,
  );
  t.true((tally.get('pay ok') ?? 0) > 0 && (tally.get('cancel ok') ?? 0) > 0 && (tally.get('load ok') ?? 0) > 0);
});
