/**
 * Issue 7 (items 1, 5, 6) through the gateway, over real sockets (card
 * emulator process on its TCP line, sandbox market, MQTT broker):
 *
 * - one order, one debit: two pay requests for the same order at the same
 *   time, and a retry, debit the card once and answer the first decision;
 * - amounts the person agreed to: the pay request carries the amount the
 *   terminal showed, a different one is refused; the CLI shows the amount
 *   and the market before it reads PIN2;
 * - a decision the market refuses is no longer presented and its money comes
 *   back with a cancel;
 * - whose decision: another terminal cannot cancel (403) unless it is an
 *   owner; the cancel is mailed to the canceller and to the payer.
 */
import { spawn } from 'node:child_process';
import test from 'ava';
import { AccessCard } from '../../card-io/access-card/access-card.js';
import { loadTerminalProfile } from '../../card-io/access-card/terminal-profile.js';
import { adminRequest, adminSocketPath } from '../../gateway/cli/admin-client.js';
import { httpsJson, PeerError } from '../../gateway/emoney/https-json.js';
import { HOMEGATE_BIN } from '../../deploy/sandbox/household/emulator-child.js';
import {
  refusalOf,
  DEMO_PINS,
  SANDBOX_MARKET,
  readMailUntil,
  recordingPins,
  registerMailLogin,
  startPurseHousehold,
  type PurseHousehold,
} from '../helpers/household/index.js';

interface Decision {
  record: { seq: number; orderId: string; amount: number; currency: string; status: string };
  presented: boolean;
  alreadyPaid?: boolean;
  marketRefused?: string;
}

interface HistoryRow {
  kind: string;
  seq: number;
  orderId?: string;
  status?: string;
  marketRefused?: string;
}

const balanceOf = async (a: AccessCard) => ((await a.balance()) as { balance: number }).balance;
const historyOf = async (a: AccessCard) => ((await a.history()) as { entries: HistoryRow[] }).entries;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.serial(
  'When two pay requests for one order arrive together or one is retried, the card debits once and every answer is the first decision; a pay ' +
    'request for another amount is refused',
  async (t) => {
    const h = await startPurseHousehold(t);
    const first = await h.accessCard();
    const second = await h.accessCard(); // the same terminal on a second connection
    const start = await balanceOf(first);
    const order = await h.createOrder(first, 'mug');

    const both = (await Promise.all([first.pay(SANDBOX_MARKET, order.orderId), second.pay(SANDBOX_MARKET, order.orderId)])) as unknown as Decision[];
    t.is(both[0]!.record.seq, both[1]!.record.seq, 'both answer the same decision');
    t.deepEqual(both.map((d) => d.alreadyPaid === true).sort(), [false, true], 'exactly one of them paid');
    t.is(await balanceOf(first), start - order.amount, 'one debit');

    const retry = (await first.pay(SANDBOX_MARKET, order.orderId)) as unknown as Decision;
    t.like(retry, { alreadyPaid: true, presented: true, record: { seq: both[0]!.record.seq, amount: order.amount, status: 'paid' } });
    t.is(await balanceOf(first), start - order.amount, 'the retry debits nothing');
    t.is((await historyOf(first)).filter((e) => e.kind === 'decision' && e.orderId === order.orderId).length, 1, 'one archived decision');
    t.like(await h.marketOrder(order.orderId), { status: 'paid', seq: both[0]!.record.seq });

    const other = await h.createOrder(first, 'coffee-250g');
    const pay = (amount: number, currency = other.currency) =>
      first.gateway.post('/v1/purse/pay', { market: SANDBOX_MARKET, orderId: other.orderId, amount, currency, pin2: DEMO_PINS.pin2 });
    t.like(await refusalOf(pay(other.amount - 1)), { status: 409, code: 'amount-mismatch' });
    t.like(await refusalOf(pay(other.amount, 'USD')), { status: 409, code: 'amount-mismatch' });
    const noAmount = first.gateway.post('/v1/purse/pay', { market: SANDBOX_MARKET, orderId: other.orderId, pin2: DEMO_PINS.pin2 });
    t.like(await refusalOf(noAmount), { status: 400, code: 'bad-request' }, 'no amount at all');
    t.is(await balanceOf(first), start - order.amount, 'nothing debited');
    t.is((await h.marketOrder(other.orderId)).status, 'open');
  },
);

test.serial(
  'When the gateway process dies right after the card paid, ' + "a retry of the same pay request debits nothing and answers the card's decision",
  async (t) => {
    const h = await startPurseHousehold(t, { gatewayProcess: true, emulatorLogLevel: 'info' });
    const access = await h.accessCard();
    const start = await balanceOf(access);
    const order = await h.createOrder(access, 'mug');
    const from = h.cardLog().length;
    const first = access.pay(SANDBOX_MARKET, order.orderId).then(
      () => 'answered',
      () => 'failed',
    );
    await until('the card committed the PAY', async () => (/"msg":"Payment recorded"/.test(h.cardLog().slice(from)) ? true : undefined));
    await h.process!.kill('SIGKILL');
    t.log(`the first request ${await first}`); // usually failed: the gateway vanished before it answered
    await h.process!.restart();

    const retry = (await access.pay(SANDBOX_MARKET, order.orderId)) as unknown as Decision;
    t.like(retry, { alreadyPaid: true, record: { orderId: order.orderId, amount: order.amount, status: 'paid' } });
    t.is(await balanceOf(access), start - order.amount, 'one debit');
    t.like(await h.marketOrder(order.orderId), { status: 'paid', seq: retry.record.seq });
    t.is((await historyOf(access)).filter((e) => e.kind === 'decision' && e.orderId === order.orderId).length, 1);
  },
);

test.serial('When the terminal CLI pays, it shows the amount and the market before it reads PIN2, and pays that amount', async (t) => {
  const h = await startPurseHousehold(t);
  const access = await h.accessCard();
  const order = await h.createOrder(access, 'mug');
  // The terminal's card session is open (unlocked above): the CLI reads only PIN2, after it showed the order.
  const args = [HOMEGATE_BIN, '--data', h.dataDir, 'terminal', 'pay', SANDBOX_MARKET, order.orderId, '--profile', 'demo'];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill('SIGKILL'));
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await until('the order shown on stderr', async () => (stderr.includes(order.orderId) ? true : undefined));
  t.regex(stderr, /12\.50 EUR/, 'the amount');
  t.regex(stderr, new RegExp(`${SANDBOX_MARKET} \\(${h.marketServerName.replace(/\./g, '\\.')}\\)`), 'the market name and host');
  t.is((await h.marketOrder(order.orderId)).status, 'open', 'nothing is paid before PIN2');
  child.stdin.end(`${DEMO_PINS.pin2}\n`);
  t.is(await exited, 0, stderr);
  t.regex(stdout, /paid 12\.50 EUR/);
  t.is((await h.marketOrder(order.orderId)).status, 'paid');
  t.false(stderr.includes(DEMO_PINS.pin2) || stdout.includes(DEMO_PINS.pin2), 'no PIN in the output');
});

test.serial('When the market refuses a decision, the gateway stops presenting it, and cancelling it brings the money back', async (t) => {
  const h = await startPurseHousehold(t, { configure: (c) => void (c.emoney.presentRetrySeconds = 1) });
  const access = await h.accessCard();
  const start = await balanceOf(access);
  const book = h.sandbox.market.orders;
  const markPaid = book.markPaid.bind(book);
  let down = false;
  // While `down`, the market fails (500) to record payments, as if its storage were down: decisions stay pending.
  book.markPaid = (order, payment) => {
    if (down) throw new Error('market storage down');
    markPaid(order, payment);
  };
  const gets = new Map<string, number>();
  const get = book.get.bind(book);
  book.get = (id) => (gets.set(id, (gets.get(id) ?? 0) + 1), get(id));

  const order = await h.createOrder(access, 'mug');
  down = true;
  const paid = (await access.pay(SANDBOX_MARKET, order.orderId)) as unknown as Decision;
  t.like(paid, { presented: false });
  // Meanwhile the merchant cancels the open order: the next presentation is refused (409 order-not-open).
  book.get(order.orderId)!.status = 'cancelled';
  down = false;
  const refused = await until('the refusal archived', async () =>
    (await historyOf(access)).find((e) => e.kind === 'decision' && e.seq === paid.record.seq && e.marketRefused),
  );
  t.is(refused.marketRefused, 'order-not-open');
  const triesAfterRefusal = gets.get(order.orderId);

  // Another decision left pending is presented by a later round of the presenter, which skips the refused one.
  const later = await h.createOrder(access, 'coffee-250g');
  down = true;
  t.like(await access.pay(SANDBOX_MARKET, later.orderId), { presented: false });
  down = false;
  await until('the later decision presented', async () => ((await h.marketOrder(later.orderId)).status === 'paid' ? true : undefined));
  t.is(gets.get(order.orderId), triesAfterRefusal, 'the refused decision was not presented again');

  const retry = await access.pay(SANDBOX_MARKET, order.orderId);
  t.like(retry, { alreadyPaid: true, presented: false, marketRefused: 'order-not-open' }, 'a retry neither pays nor presents');
  const cancelled = (await access.cancel(paid.record.seq)) as unknown as Decision;
  t.like(cancelled.record, { seq: paid.record.seq, status: 'cancelled' });
  t.is(await balanceOf(access), start - later.amount, "the refused decision's money is back");
  t.like(
    (await historyOf(access)).find((e) => e.kind === 'decision' && e.seq === paid.record.seq),
    { status: 'cancelled' },
  );
});

/** A second terminal, enrolled through the gateway's admin socket as the household does (its own broker login, the pinned card certificate). */
async function enrollKitchen(h: PurseHousehold) {
  const answer = await adminRequest(adminSocketPath(h.dataDir), 'POST', '/admin/terminals', { name: 'kitchen', mail: 'kitchen@household.example' });
  const enrolled = answer.terminal as { id: string; profileDir: string };
  await registerMailLogin(enrolled.id, enrolled.profileDir);
  const access = new AccessCard(await loadTerminalProfile(enrolled.profileDir), recordingPins());
  t_teardowns.push(() => access.close());
  return { id: enrolled.id, access };
}
const t_teardowns: Array<() => void> = [];
test.afterEach.always(() => {
  while (t_teardowns.length) t_teardowns.pop()!();
});

test.serial(
  'When another terminal cancels a decision it did not pay, it is refused (403) unless it is an owner; the cancel is mailed to the canceller and ' +
    'to the payer',
  async (t) => {
    const h = await startPurseHousehold(t);
    const demo = await h.accessCard();
    const kitchen = await enrollKitchen(h);
    const start = await balanceOf(demo);
    const order = await h.createOrder(demo, 'mug');
    const paid = (await demo.pay(SANDBOX_MARKET, order.orderId)) as unknown as Decision;
    const seq = paid.record.seq;

    t.like(await refusalOf(kitchen.access.cancel(seq)), { status: 403, code: 'not-your-decision' });
    t.is(await balanceOf(demo), start - order.amount, 'nothing refunded');
    t.is((await h.marketOrder(order.orderId)).status, 'paid', 'the market was not asked');

    // The sandbox market itself refuses a cancel request that does not come from the card.
    const unauthenticated = await httpsJson({
      url: `https://127.0.0.1:${h.ports.market}/payment-api/orders/${order.orderId}/cancel`,
      method: 'POST',
      body: { cardId: h.cardId, seq },
      ca: h.marketCaPem,
      servername: h.marketServerName,
    }).catch((e: unknown) => e);
    t.true(unauthenticated instanceof PeerError && unauthenticated.status === 400, String(unauthenticated));
    t.is((await h.marketOrder(order.orderId)).status, 'paid');

    // The kitchen terminal reads its mailbox once, so its persistent MQTT session exists before the cancel is mailed.
    await readMailUntil({ url: h.mqttUrl, terminalId: kitchen.id, want: [], idleMs: 200 });
    // The household makes the kitchen an owner on the admin socket (homegate terminals role <id> owner).
    const set = await adminRequest(adminSocketPath(h.dataDir), 'POST', `/admin/terminals/${kitchen.id}/role`, { role: 'owner' });
    t.like(set, { terminal: { id: kitchen.id, role: 'owner' } });
    t.is(h.inProcess!.registry.getTerminal(h.terminalId)?.role ?? 'member', 'member', 'the demo terminal stays a member');
    const cancelled = (await kitchen.access.cancel(seq)) as unknown as Decision;
    t.like(cancelled.record, { seq, status: 'cancelled' });
    t.is(await balanceOf(demo), start, 'refunded');
    t.is((await h.marketOrder(order.orderId)).status, 'cancelled');

    const cancelId = `${h.cardId}:cancel:${seq}`;
    const toKitchen = await readMailUntil({ url: h.mqttUrl, terminalId: kitchen.id, want: [cancelId] });
    const toPayer = await readMailUntil({ url: h.mqttUrl, terminalId: h.terminalId, want: [`${cancelId}:payer`] });
    t.deepEqual(
      toKitchen.messages.filter((m) => m.type === 'cancel').map((m) => [m.id, m.notification.mail]),
      [[cancelId, 'kitchen@household.example']],
    );
    t.deepEqual(
      toPayer.messages.filter((m) => m.type === 'cancel').map((m) => [m.id, m.notification.mail]),
      [[`${cancelId}:payer`, h.terminalMail]],
    );
  },
);
