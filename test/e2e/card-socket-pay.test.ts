/**
 * A card pulled during PAY, the sandbox household with its card in a virtual
 * socket (as `homegate sandbox` runs it) and a slowed card, so the pull lands
 * at different moments of the payment: before the card was asked, while PAY
 * runs on it, after. Whatever the moment, the caller learns the outcome
 * (paid; or card-absent with `not-sent` / `unknown`), and once the card is
 * back and the purse reconciled, money is conserved: what left the card is
 * exactly what the archive shows as paid.
 */
import test from 'ava';
import type { AccessCard } from '../../card-io/access-card/access-card.js';
import { isAccessCardError } from '../../card-io/access-card/access-card-error.js';
import { eventually, SANDBOX_MARKET, startPurseHousehold } from '../helpers/household/index.js';

interface HistoryRow {
  kind: string;
  orderId?: string;
  amount?: number;
  status?: string;
}

const balanceOf = async (a: AccessCard) => ((await a.balance()) as { balance: number }).balance;
const paidOf = async (a: AccessCard) =>
  ((await a.history()) as { entries: HistoryRow[] }).entries.filter((e) => e.kind === 'decision' && e.status !== 'cancelled');

test('a card pulled during PAY: the outcome is reported, and after insertion and reconciliation the money is conserved', async (t) => {
  const h = await startPurseHousehold(t, { socket: true, emulatorArgs: ['--slow-ms', '80'] });
  const gateway = h.inProcess!;
  const person = gateway.socketPerson!;
  const access = await h.accessCard();
  const balance0 = await balanceOf(access);
  const outcomes: string[] = [];
  for (const pullAfterMs of [20, 200, 260, 320, 400, 800]) {
    const order = await h.createOrder(access, 'mug');
    const paying = access.pay(SANDBOX_MARKET, order.orderId).then(
      () => 'paid',
      (e: unknown) => {
        if (isAccessCardError(e) && e.gateway?.code === 'card-absent') return `card-absent:${String(e.gateway.outcome ?? 'no-card')}`;
        throw e;
      },
    );
    await new Promise((resolve) => setTimeout(resolve, pullAfterMs));
    await person.remove();
    const outcome = await paying;
    outcomes.push(outcome);
    await eventually(() => gateway.cards.status === 'absent', 'card absent');
    await person.insert();
    await eventually(() => gateway.cards.status === 'present', 'card present again', 15_000);
    // Money conserved, once the purse's reconciliation settled what the pull left open.
    await eventually(
      async () => {
        const paid = await paidOf(access).catch(() => undefined);
        const balance = await balanceOf(access).catch(() => undefined);
        if (!paid || balance === undefined) return false;
        return balance0 - balance === paid.reduce((sum, e) => sum + (e.amount ?? 0), 0);
      },
      'balance and archive agree',
      20_000,
    );
    const paid = await paidOf(access);
    const thisOrder = paid.filter((e) => e.orderId === order.orderId);
    if (outcome === 'paid') t.is(thisOrder.length, 1, `${pullAfterMs} ms: paid and archived once`);
    if (outcome === 'card-absent:not-sent') t.is(thisOrder.length, 0, `${pullAfterMs} ms: not sent, not paid`);
    t.true(thisOrder.length <= 1, `${pullAfterMs} ms: at most one debit for the order`);
    t.log(`${pullAfterMs} ms: ${outcome}, ${thisOrder.length ? 'paid on the card' : 'not paid'}`);
  }
  t.log(`outcomes by pull time: ${outcomes.join(', ')}`);
  t.true(
    outcomes.every((o) => ['paid', 'card-absent:not-sent', 'card-absent:unknown'].includes(o)),
    outcomes.join(', '),
  );
});
