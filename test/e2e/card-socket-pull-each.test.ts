/**
 * A card pulled during each command of an authorization separately: during
 * VERIFY (PIN2) and during SIGN SESSION CERTIFICATE (card-socket.test.ts
 * pulls once, wherever the pull lands). The emulator is slowed (each command
 * takes 150 ms), and the pull comes 50 ms after the command before the
 * target answered, so it lands while the target runs on the card: the
 * gateway's own log names the command that failed. Each time the request
 * ends at once as card-absent with outcome "unknown" (the command reached
 * the card), nothing reaches the market, and after insertion the terminal
 * enters PIN1 again and the card works.
 */
import test from 'ava';
import type { Logger } from '../../card-io/base/log.js';
import { eventually, MARKET, refusalOf, SANDBOX_MARKET, startHousehold, startPurseHousehold } from '../helpers/household/index.js';

/** The gateway's log, listened to for the card driver's "card command" lines (names and status words only, never data). */
function commandLog(): {
  logger: Logger;
  done: string[];
  failed: string[];
  lastAt(): number;
  onDone(fn: (name: string, index: number) => void): () => void;
} {
  let last = 0;
  const done: string[] = [];
  const failed: string[] = [];
  const listeners = new Set<(name: string, index: number) => void>();
  const noop = () => undefined;
  const logger: Logger = {
    trace: noop,
    info: noop,
    warn: noop,
    error: noop,
    debug: ((obj: unknown, msg?: string) => {
      const command = typeof obj === 'object' && obj !== null ? (obj as { command?: unknown }).command : undefined;
      if (typeof command !== 'string') return;
      last = Date.now();
      if (msg === 'card command') {
        done.push(command);
        for (const l of listeners) l(command, done.length);
      }
      if (msg === 'card command failed') failed.push(command);
    }) as Logger['debug'],
    // It records the debug lines, so it says debug is on: the card channel builds them only then.
    isLevelEnabled: (level) => level === 'debug',
    child: () => logger,
  };
  return { logger, done, failed, lastAt: () => last, onDone: (fn) => (listeners.add(fn), () => listeners.delete(fn)) };
}

test.serial(
  'a card pulled during VERIFY PIN2, and again during SIGN SESSION CERTIFICATE, ends each request at once as card-absent with outcome unknown',
  async (t) => {
    const log = commandLog();
    const h = await startHousehold(t, { socket: true, emulatorArgs: ['--slow-ms', '150'], logger: log.logger });
    const person = h.gateway.socketPerson!;
    const access = await h.accessCard();

    // Once through, to learn the authorization's commands in order.
    await access.unlock();
    const from = log.done.length;
    await access.authorize(MARKET);
    const sequence = log.done.slice(from);
    t.log(`authorization: ${sequence.join(', ')}`);
    const connectionsBefore = h.relay.connections();

    const targets = [
      { what: 'VERIFY PIN2', index: sequence.findIndex((n) => /VERIFY/i.test(n) && !/CERTIFICATE/i.test(n)) },
      { what: 'SIGN SESSION CERTIFICATE', index: sequence.findIndex((n) => /SIGN SESSION CERTIFICATE/i.test(n)) },
    ];
    for (const { what, index } of targets) {
      t.true(index >= 0, `${what} in ${sequence.join(', ')}`);
      // A new card session after the last insertion (and for the first target: the same start as the dry run).
      if (!(await access.isUnlocked())) await access.unlock();
      // The purse's reconciliation after an insertion reads the card's log: the count starts once the card is quiet.
      await eventually(() => Date.now() - log.lastAt() > 700, 'the card quiet', 30_000);
      const start = log.done.length;
      log.failed.length = 0;
      let pulledAt = 0;
      let scheduled = false;
      const pull = () =>
        setTimeout(() => {
          pulledAt = Date.now();
          void person.remove();
        }, 50);
      // The first command starts when the request takes the card (card-busy); a later one when the one before it answered.
      const off =
        index === 0
          ? h.gateway.events.on('card-busy', ({ busy }) => {
              if (busy && !scheduled) {
                scheduled = true;
                pull();
              }
            })
          : log.onDone((_name, n) => {
              if (n - start === index) pull();
            });
      const refusal = await refusalOf(access.authorize(MARKET));
      off();
      const endedAfter = Date.now() - pulledAt;
      t.true(pulledAt > 0, `${what}: pulled`);
      t.like(refusal, { status: 503, code: 'card-absent', outcome: 'unknown' }, what);
      t.deepEqual(log.failed, [sequence[index]], `${what}: the command that ended was ${log.failed.join(', ')}`);
      t.true(endedAfter < 1000, `${what}: the request ended ${endedAfter} ms after the pull`);
      t.is(h.relay.connections(), connectionsBefore, `${what}: nothing reached the market`);
      await eventually(() => h.gateway.cards.status === 'absent', 'card absent');
      await person.insert();
      await eventually(() => h.gateway.cards.status === 'present', 'card present again', 15_000);
      t.false(await access.isUnlocked(), `${what}: PIN1 again after the insertion`);
    }
    await access.unlock();
    t.true((await access.authorize(MARKET)).session.length > 0);
  },
);

test.serial(
  'a card pulled during the VERIFY PIN2 of a payment: the payment is not-sent (not unknown), nothing is debited, and the terminal pays again',
  async (t) => {
    // The sandbox household as it runs, its card slowed: PAY's first card command (VERIFY PIN2) takes 150 ms, and the pull comes 50 ms into it.
    const log = commandLog();
    const h = await startPurseHousehold(t, { socket: true, emulatorArgs: ['--slow-ms', '150'], logger: log.logger });
    const gateway = h.inProcess!;
    await eventually(() => gateway.cards.status === 'present', 'card present', 15_000);
    const access = await h.accessCard();
    const balance = async () => Number((await access.balance()).balance);
    const before = await balance();
    const order = await h.createOrder(access, 'mug');
    await eventually(() => Date.now() - log.lastAt() > 700, 'the card quiet', 30_000);
    log.failed.length = 0;
    let scheduled = false;
    const off = gateway.events.on('card-busy', ({ busy }) => {
      if (!busy || scheduled) return;
      scheduled = true;
      setTimeout(() => void gateway.socketPerson!.remove(), 50);
    });
    const refusal = await refusalOf(access.pay(SANDBOX_MARKET, order.orderId));
    off();
    // A command was on the card when it was pulled (VERIFY PIN2), and it was not PAY: nothing can have been paid.
    t.like(refusal, { status: 503, code: 'card-absent', outcome: 'not-sent' });
    t.deepEqual(log.failed, ['VERIFY'], `the command that ended: ${log.failed.join(', ')}`);
    await eventually(() => gateway.cards.status === 'absent', 'card absent');
    await gateway.socketPerson!.insert();
    await eventually(() => gateway.cards.status === 'present', 'card present again', 15_000);
    await access.unlock();
    t.is(await balance(), before, 'nothing debited');
    t.is((await h.marketOrder(order.orderId)).status, 'open');
    t.like(await access.pay(SANDBOX_MARKET, order.orderId), { record: { status: 'paid', amount: order.amount } });
    t.is(await balance(), before - order.amount);
  },
);
