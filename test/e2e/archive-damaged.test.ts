/**
 * A damaged archive stops payments (and nothing else): with a garbled history
 * month, the gateway still starts, refuses pay, cancel and top-up with 503
 * archive-damaged naming the file BEFORE the card is touched (no debit, no
 * second debit on retry), keeps serving balance and history; `homegate
 * doctor` reports the damage, `--repair` fixes it, and after a restart the
 * card's log refills the archive and payments work again.
 *
 * Real parts: the gateway as a child process (`homegate gateway run`), the
 * card emulator on its line, the sandbox market, the CLI as a process.
 */
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { refusalOf, SANDBOX_MARKET, startPurseHousehold } from '../helpers/household/index.js';
import { runCli } from '../gateway/cli-process.js';

interface Decision {
  record: { seq: number; orderId: string; amount: number; time: string };
}
interface Purse {
  balance: number;
  counter: number;
}
interface HistoryRow {
  kind: string;
  seq: number;
  orderId?: string;
}

test.serial(
  'When a history month is garbled, pay, cancel and top-up are refused with 503 archive-damaged naming it, the card is not touched, reads are ' +
    'served, and doctor --repair brings payments back',
  async (t) => {
    const h = await startPurseHousehold(t, { gatewayProcess: true });
    const gateway = h.process!;
    t.teardown(() => {
      if (!t.passed) t.log(`gateway log (tail):\n${gateway.log().slice(-6000)}`);
    });
    const access = await h.accessCard();
    const first = await h.createOrder(access, 'mug');
    const paid = (await access.pay(SANDBOX_MARKET, first.orderId)) as unknown as Decision;
    const month = paid.record.time.slice(0, 7);
    const file = `history/${month}.jsonl`;

    await gateway.kill('SIGKILL');
    const path = join(h.dataDir, file);
    const lines = (await readFile(path, 'utf8')).split('\n');
    t.true(lines.length >= 2);
    await writeFile(path, [lines[0]!.replace(`"seq":${paid.record.seq}`, `"seq":${paid.record.seq + 100}`), ...lines.slice(1)].join('\n'));
    await gateway.restart();

    const before = (await access.balance()) as unknown as Purse;
    const second = await h.createOrder(access, 'mug');
    for (let attempt = 0; attempt < 2; attempt++) {
      const refusal = await refusalOf(access.pay(SANDBOX_MARKET, second.orderId));
      t.is(refusal.status, 503);
      t.is(refusal.code, 'archive-damaged');
      t.is(refusal.files, file, 'the damaged file is named, relative to the data directory');
    }
    t.like(await refusalOf(access.cancel(paid.record.seq)), { status: 503, code: 'archive-damaged' });
    t.like(await refusalOf(access.topup(1000)), { status: 503, code: 'archive-damaged' });
    const after = (await access.balance()) as unknown as Purse;
    t.deepEqual([after.balance, after.counter], [before.balance, before.counter], 'the card was not touched: no debit, not even on the retry');
    t.is((await h.marketOrder(second.orderId)).status, 'open');
    t.true(Array.isArray(((await access.history()) as { entries: unknown[] }).entries), 'the history is still served');

    const checked = await runCli(['--data', h.dataDir, 'doctor']);
    t.is(checked.code, 2, checked.stdout + checked.stderr); // damaged
    t.regex(checked.stdout, new RegExp(`corrupt\\s+${file.replace('.', '\\.')}`));
    t.is((await runCli(['--data', h.dataDir, 'doctor', '--repair'])).code, 4, 'repair refuses while the gateway runs');

    await gateway.kill('SIGKILL');
    const repaired = await runCli(['--data', h.dataDir, 'doctor', '--repair']);
    t.is(repaired.code, 0, repaired.stdout + repaired.stderr);
    await gateway.restart();

    // The start-up reconciliation re-archives the decision from the card's log.
    const deadline = Date.now() + 30_000;
    let entries: HistoryRow[] = [];
    while (Date.now() < deadline) {
      entries = ((await access.history()) as { entries: HistoryRow[] }).entries;
      if (entries.some((e) => e.kind === 'decision' && e.orderId === first.orderId)) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    t.true(
      entries.some((e) => e.kind === 'decision' && e.seq === paid.record.seq && e.orderId === first.orderId),
      'the card refilled the archive',
    );
    const again = (await access.pay(SANDBOX_MARKET, second.orderId)) as unknown as Decision;
    t.is(again.record.orderId, second.orderId);
    const end = (await access.balance()) as unknown as Purse;
    t.is(end.balance, before.balance - second.amount, 'debited exactly once');
  },
);
