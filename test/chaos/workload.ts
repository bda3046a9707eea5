/**
 * What the campaign's terminals do, through the access-card library (the
 * terminal API): pay market orders (sometimes the same order from several
 * terminals' connections at once), cancel paid decisions, and top up close to
 * the purse's maximum balance, so refusals at the limit meet the faults too.
 * Each operation resolves with an outcome label; failures are expected.
 */
import type { AccessCard } from '../../card-io/access-card/access-card.js';
import { isAccessCardError } from '../../card-io/access-card/access-card-error.js';
import { SANDBOX_CATALOGUE } from '../../deploy/sandbox/market/catalogue.js';
import type { SeededRandom } from '../helpers/seeded-random.js';
import { SANDBOX_MARKET, SANDBOX_PURSE, type PurseHousehold } from '../helpers/household/purse-household.js';

export type OpKind = 'pay' | 'concurrent-pay' | 'cancel' | 'topup-near-limit';

export const OP_KINDS: readonly OpKind[] = ['pay', 'pay', 'concurrent-pay', 'cancel', 'topup-near-limit', 'topup-near-limit'];

export interface WorkloadView {
  /** The purse balance last seen (the gateway's purse API). */
  balance: number;
  /** Seqs of decisions last seen paid (the history API). */
  paid: number[];
}

/** The cheap items mostly, so the card's daily limit is reached late in a run. */
function pickItem(rnd: SeededRandom) {
  const cheap = SANDBOX_CATALOGUE.items.filter((i) => i.price <= 500);
  return rnd.next() < 0.8 && cheap.length ? rnd.pick(cheap) : rnd.pick(SANDBOX_CATALOGUE.items);
}

function outcomeOf(e: unknown): string {
  return `failed:${isAccessCardError(e) ? (e.gateway?.code ?? e.code) : 'error'}`;
}

async function attempt(label: string, p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return label;
  } catch (e) {
    return outcomeOf(e);
  }
}

export class Workload {
  operations = 0;
  readonly outcomes: Record<string, number> = {};

  constructor(
    private readonly h: PurseHousehold,
    /** Several connections of the terminal (each AccessCard has its own), for concurrent pays. */
    private readonly access: readonly AccessCard[],
    private readonly rnd: SeededRandom,
  ) {}

  private count(kind: OpKind, outcomes: string[]): string {
    this.operations += outcomes.length;
    for (const o of outcomes) this.outcomes[`${kind} ${o}`] = (this.outcomes[`${kind} ${o}`] ?? 0) + 1;
    return `${kind}: ${outcomes.join(', ')}`;
  }

  /** One operation of `kind`; resolves with what happened (never rejects). */
  async run(kind: OpKind, view: WorkloadView): Promise<string> {
    const first = this.access[0]!;
    if (kind === 'pay' || kind === 'concurrent-pay') {
      const order = this.h.sandbox.market.orders.create(pickItem(this.rnd), 1);
      const payers = kind === 'pay' ? [first] : this.access.slice(0, this.rnd.int(2, this.access.length));
      const outcomes = await Promise.all(payers.map((a) => attempt('paid', a.pay(SANDBOX_MARKET, order.orderId))));
      return this.count(kind, outcomes);
    }
    if (kind === 'cancel') {
      if (!view.paid.length) return this.count(kind, ['nothing-to-cancel']);
      return this.count(kind, [await attempt('cancelled', first.cancel(this.rnd.pick(view.paid)))]);
    }
    // Up to the maximum balance, a little under or a little over it (the card refuses over: 6911).
    const room = SANDBOX_PURSE.maxBalance - view.balance;
    const amount = Math.max(100, room + this.rnd.int(-1500, 300));
    return this.count(kind, [await attempt('loaded', first.topup(amount))]);
  }
}
