/**
 * The confirm button end to end: a sandbox household (card emulator process,
 * sandbox market and issuer, MQTT) whose gateway has a virtual panel. Payments
 * above 5.00 EUR and top-ups above 10.00 EUR wait for a press; the terminal's
 * request is answered only then, and GET /v1/health shows the pending
 * confirmation meanwhile. No press (timeout) and a long press refuse with
 * distinct codes, and nothing changes on the card, at the market, at the
 * issuer or in the archive. Below the threshold nothing waits.
 */
import test from 'ava';
import type { AccessCard } from '../../card-io/access-card/access-card.js';
import type { Panel } from '../../gateway/panel/panel.js';
import { panelOptionsSchema } from '../../gateway/panel/panel-options.js';
import { runCli } from '../gateway/cli-process.js';
import { asTerminal, eventually, gatewayRequest } from '../helpers/household/household.js';
import { refusalOf, SANDBOX_MARKET, startPurseHousehold, type PurseHousehold } from '../helpers/household/index.js';

const PAY_ABOVE = 500;
const TOPUP_ABOVE = 1000;

async function pendingIn(h: PurseHousehold): Promise<Record<string, unknown> | null> {
  const health = await gatewayRequest({ ...asTerminal(await h.profile()), method: 'GET', path: '/v1/health' });
  const panel = health.json.panel as { pendingConfirmation: Record<string, unknown> | null };
  return panel.pendingConfirmation;
}

test('payments and top-ups above their thresholds wait for the confirm button: pressed pays, no press or a long press changes nothing', async (t) => {
  const h = await startPurseHousehold(t, {
    configure: (config) => {
      config.panel = panelOptionsSchema.parse({
        plugin: 'virtual',
        pins: { ready: 5, busy: 6, attention: 13, button: 17, buzzer: 18 },
        confirm: { payAbove: PAY_ABOVE, topupAbove: TOPUP_ABOVE, timeoutMs: 10_000, longPressMs: 300 },
      });
    },
  });
  const panel = h.inProcess!.panel as Panel;
  const access: AccessCard = await h.accessCard();
  const account = () => structuredClone(h.sandbox.issuer.account(h.issuerHousehold));
  const snapshot = async () => ({ purse: await access.balance(), history: await access.history(), issuer: account() });

  // Below the threshold: paid without any press.
  const tea = await h.createOrder(access, 'tea-100g');
  t.true(tea.amount <= PAY_ABOVE);
  t.like(await access.pay(SANDBOX_MARKET, tea.orderId), { record: { status: 'paid' } });
  t.is((await h.marketOrder(tea.orderId)).status, 'paid');

  // Above: no press within the timeout refuses, and nothing changed anywhere.
  const coffee = await h.createOrder(access, 'coffee-250g');
  t.true(coffee.amount > PAY_ABOVE);
  const before = await snapshot();
  t.like(await refusalOf(access.pay(SANDBOX_MARKET, coffee.orderId)), { status: 403, code: 'confirmation-timeout' });
  t.deepEqual(await snapshot(), before, 'card purse, archive and issuer account unchanged after the timeout');
  t.is((await h.marketOrder(coffee.orderId)).status, 'open');

  // A long press refuses at once.
  const refusing = refusalOf(access.pay(SANDBOX_MARKET, coffee.orderId));
  await eventually(() => panel.status().pendingConfirmation !== null, 'the payment waits for the button');
  await panel.longPress();
  t.like(await refusing, { status: 403, code: 'confirmation-refused' });
  t.deepEqual(await snapshot(), before, 'unchanged after the long press');
  t.is((await h.marketOrder(coffee.orderId)).status, 'open');

  // Pressed: paid. Meanwhile the status endpoint shows what waits.
  const paying = access.pay(SANDBOX_MARKET, coffee.orderId);
  await eventually(() => panel.status().pendingConfirmation !== null, 'the payment waits for the button');
  const pending = await pendingIn(h);
  t.like(pending, { kind: 'pay', amount: coffee.amount, currency: 'EUR' });
  t.false(pending !== null && 'terminal' in pending, 'the public health endpoint does not say which terminal asks');
  t.like(panel.status().pendingConfirmation, { terminal: h.terminalId });
  await panel.press();
  t.like(await paying, { record: { status: 'paid', amount: coffee.amount } });
  t.is((await h.marketOrder(coffee.orderId)).status, 'paid');
  t.is(await pendingIn(h), null);

  // A top-up above its threshold refused with a long press: nothing loaded and the issuer not asked.
  const beforeTopup = await snapshot();
  const refusingTopup = refusalOf(access.topup(TOPUP_ABOVE + 1));
  await eventually(() => panel.status().pendingConfirmation !== null, 'the top-up waits for the button');
  await panel.longPress();
  t.like(await refusingTopup, { status: 403, code: 'confirmation-refused' });
  t.deepEqual(await snapshot(), beforeTopup, 'unchanged after the refused top-up');
  // Pressed from the command line, through the admin socket (as in the sandbox): loaded.
  const cli = (...args: string[]) => runCli(['--data', h.dataDir, 'panel', ...args]);
  const loading = access.topup(TOPUP_ABOVE + 1);
  await eventually(() => panel.status().pendingConfirmation !== null, 'the top-up waits for the button');
  const status = await cli('status', '--json');
  t.is(status.code, 0, status.stderr);
  t.like(JSON.parse(status.stdout), { plugin: 'virtual', pendingConfirmation: { kind: 'topup', amount: TOPUP_ABOVE + 1 } });
  const health = await runCli(['--data', h.dataDir, 'status', '--json']);
  t.is(health.code, 0, health.stderr);
  t.like(JSON.parse(health.stdout), { panel: { plugin: 'virtual', pendingConfirmation: { kind: 'topup' } } });
  const pressed = await cli('press', '--json');
  t.is(pressed.code, 0, pressed.stderr);
  t.like(await loading, { load: { amount: TOPUP_ABOVE + 1 } });

  // This gateway was given no virtual card socket: insert is refused with a clear message.
  const insert = await cli('insert');
  t.is(insert.code, 1);
  t.regex(insert.stderr, /no virtual card socket/);
});
