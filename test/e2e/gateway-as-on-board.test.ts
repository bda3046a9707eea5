/**
 * The gateway as a flashed board runs it: the one-file gateway
 * (dist/homegate.cjs, deploy/one-file/build-one-file.ts) on Node with the
 * small-board settings (gateway/device/small-board-settings.ts), in its own
 * process, in a sandbox household. What development and the other tests run
 * is the compiled modules; this shows the one file a board gets does the same
 * work: a delegated authorization reaches the market, a payment debits the
 * card once and is mailed, and `homegate status` (the one file again) reads
 * the gateway's health.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { PACKAGE_ROOT } from '../../deploy/one-file/build-one-file.js';
import { ONE_FILE, SMALL_BOARD_V8_FLAGS } from '../../gateway/device/small-board-settings.js';
import { collectMail, SANDBOX_MARKET, startPurseHousehold } from '../helpers/household/index.js';

test('the one-file gateway with the small-board settings authorizes, pays once, mails the decision and answers status', async (t) => {
  const h = await startPurseHousehold(t, { gatewayProcess: 'as-on-board' });
  const gateway = h.process!;
  t.teardown(() => {
    if (!t.passed) t.log(`gateway log (tail):\n${gateway.log().slice(-4000)}`);
  });
  // It is the one file that runs, with the board's flags.
  const cmdline = (await readFile(`/proc/${gateway.pid}/cmdline`, 'utf8')).split('\0');
  t.true(cmdline.includes(join(PACKAGE_ROOT, ONE_FILE)));
  for (const flag of SMALL_BOARD_V8_FLAGS) t.true(cmdline.includes(flag), flag);

  const mail = await collectMail({ url: h.mqttUrl, terminalId: h.terminalId });
  t.teardown(() => mail.stop());
  const access = await h.accessCard();

  // The delegated handshake: the terminal resumes the session the gateway made with the card's key.
  const { response } = await access.request(SANDBOX_MARKET, { method: 'GET', path: '/whoami' });
  t.is(response.status, 200);
  t.true(response.resumed);
  t.like(JSON.parse(response.body.toString()), { resumed: true });

  const before = (await access.balance()) as { balance: number };
  const order = await h.createOrder(access, 'mug');
  const decision = (await access.pay(SANDBOX_MARKET, order.orderId)) as unknown as { record: { orderId: string; amount: number; status: string } };
  t.like(decision.record, { orderId: order.orderId, amount: order.amount, status: 'paid' });
  t.is(((await access.balance()) as { balance: number }).balance, before.balance - order.amount);
  t.like(await h.marketOrder(order.orderId), { status: 'paid' });
  await mail.until((all) => all.some((m) => JSON.stringify(m.notification).includes(order.orderId)), 'the payment mailed to the terminal');

  const status = await promisify(execFile)(process.execPath, [...SMALL_BOARD_V8_FLAGS, join(PACKAGE_ROOT, ONE_FILE), '--data', h.dataDir, 'status', '--json'], {
    timeout: 60_000,
  });
  const health = JSON.parse(status.stdout) as { card: string; version: string };
  t.is(health.card, 'present');
  t.is(health.version, JSON.parse(await readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version);
});
