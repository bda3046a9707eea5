/**
 * The terminal is told that the gateway waits for its confirm button (issue
 * 10: "the terminal is told it waits for confirmation"): the access card
 * watches GET /v1/health while its pay or top-up runs and reports the pending
 * confirmation once; `homegate terminal pay` prints it on stderr. Below the
 * threshold nothing waits and nothing is reported.
 */
import test from 'ava';
import { AccessCard, type PendingConfirmationNotice } from '../../card-io/access-card/access-card.js';
import { loadTerminalProfile } from '../../card-io/access-card/terminal-profile.js';
import { adminRequest, adminSocketPath } from '../../gateway/cli/admin-client.js';
import type { Panel } from '../../gateway/panel/panel.js';
import { panelOptionsSchema } from '../../gateway/panel/panel-options.js';
import { runCli } from '../gateway/cli-process.js';
import { demoPins, eventually, refusalOf, SANDBOX_MARKET, startPurseHousehold } from '../helpers/household/index.js';

const PAY_ABOVE = 500;
const TOPUP_ABOVE = 1000;

function withPanel(config: { panel?: unknown }): void {
  config.panel = panelOptionsSchema.parse({
    plugin: 'virtual',
    pins: { ready: 5, busy: 6, attention: 13, button: 17, buzzer: 18 },
    confirm: { payAbove: PAY_ABOVE, topupAbove: TOPUP_ABOVE, timeoutMs: 20_000, longPressMs: 300 },
  });
}

test('a terminal is told that its payment or top-up waits for the confirm button on the gateway, and nothing when it does not wait', async (t) => {
  const h = await startPurseHousehold(t, { configure: withPanel });
  const panel = h.inProcess!.panel as Panel;
  const access = await h.accessCard();

  // Below the threshold: paid, and the terminal is told nothing.
  const tea = await h.createOrder(access, 'tea-100g');
  const quiet: PendingConfirmationNotice[] = [];
  t.like(await access.pay(SANDBOX_MARKET, tea.orderId, undefined, (p) => quiet.push(p)), { record: { status: 'paid' } });
  t.deepEqual(quiet, []);

  // Above: told once, with what waits and until when; then the press pays.
  const coffee = await h.createOrder(access, 'coffee-250g');
  const told: PendingConfirmationNotice[] = [];
  const paying = access.pay(SANDBOX_MARKET, coffee.orderId, undefined, (p) => {
    told.push(p);
    void panel.press();
  });
  t.like(await paying, { record: { status: 'paid', amount: coffee.amount } });
  t.is(told.length, 1);
  t.like(told[0], { kind: 'pay', amount: coffee.amount, currency: 'EUR' });
  t.true(Date.parse(told[0]!.expiresAt) > Date.now());

  // A top-up, likewise.
  const toldTopup: PendingConfirmationNotice[] = [];
  const loading = access.topup(TOPUP_ABOVE + 1, (p) => {
    toldTopup.push(p);
    void panel.press();
  });
  t.like(await loading, { load: { amount: TOPUP_ABOVE + 1 } });
  t.like(toldTopup, [{ kind: 'topup', amount: TOPUP_ABOVE + 1 }]);

  // The command line says it on stderr while it waits (PIN2 from stdin; the session is open from above).
  const mug = await h.createOrder(access, 'coffee-250g');
  const cli = runCli(['--data', h.dataDir, 'terminal', 'pay', SANDBOX_MARKET, mug.orderId], { input: '5678\n', timeoutMs: 40_000 });
  await eventually(() => panel.status().pendingConfirmation !== null, 'a confirmation waits', 15_000);
  // The person reads the notice before pressing (the command looks every 500 ms).
  await new Promise((resolve) => setTimeout(resolve, 2500));
  await panel.press();
  const r = await cli;
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /waiting for the confirm button on the gateway: payment of \d+\.\d\d EUR; press it briefly to confirm, hold it to refuse/);
  t.regex(r.stdout, /paid/);
});

test('two terminals at once: the second is refused at once with confirmation-busy and its order stays open; the press pays the first', async (t) => {
  const h = await startPurseHousehold(t, { configure: withPanel });
  const panel = h.inProcess!.panel as Panel;
  const living = await h.accessCard();
  const answer = await adminRequest(adminSocketPath(h.dataDir), 'POST', '/admin/terminals', { name: 'kitchen', mail: 'kitchen@household.example' });
  const kitchen = new AccessCard(await loadTerminalProfile((answer.terminal as { profileDir: string }).profileDir), demoPins);
  t.teardown(() => kitchen.close());
  const first = await h.createOrder(living, 'coffee-250g');
  const second = await h.createOrder(kitchen, 'coffee-250g');
  const paying = living.pay(SANDBOX_MARKET, first.orderId);
  await eventually(() => panel.status().pendingConfirmation !== null, 'the first waits for the button', 15_000);
  const before = await kitchen.balance();
  t.like(await refusalOf(kitchen.pay(SANDBOX_MARKET, second.orderId)), { status: 409, code: 'confirmation-busy' });
  t.like(panel.status().pendingConfirmation, { amount: first.amount, terminal: h.terminalId }, 'the question asked is still the first');
  t.is((await h.marketOrder(second.orderId)).status, 'open');
  await panel.press();
  t.like(await paying, { record: { status: 'paid', amount: first.amount } });
  t.is((await h.marketOrder(first.orderId)).status, 'paid');
  t.is((await h.marketOrder(second.orderId)).status, 'open');
  t.is((await kitchen.balance()).balance, Number(before.balance) - first.amount, 'only the first was debited');
});
