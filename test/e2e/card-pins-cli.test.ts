/**
 * The way back from a blocked PIN and PIN changes, through `homegate card
 * unblock|change-pin` (a real CLI process, PINs on stdin) and the gateway's
 * admin socket; and scripted terminal commands whose stdin lines always go to
 * the PIN they were written for.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import type { PinSource } from '../../card-io/access-card/access-card.js';
import { DEMO_PINS, MARKET, refusalOf, startHousehold } from '../helpers/household/index.js';
import { runCli, transcript } from '../gateway/cli-process.js';

const pins =
  (pin1: string, pin2: string): PinSource =>
  async (which) =>
    which === 'PIN1' ? pin1 : pin2;

test.serial(
  'After PIN1 is blocked, "homegate card unblock 1" with the PUK and the new PIN1 twice on stdin sets it, ' + 'and the new PIN1 opens the card',
  async (t) => {
    const h = await startHousehold(t);
    const wrong = await h.accessCard(undefined, pins('0000', DEMO_PINS.pin2));
    for (let i = 0; i < 3; i++) await refusalOf(wrong.unlock());
    t.like(await refusalOf((await h.accessCard()).unlock()), { code: 'pin-blocked', unblockCommand: 'homegate card unblock 1' });

    const mismatch = await runCli(['--data', h.dataDir, 'card', 'unblock', '1'], { input: `${DEMO_PINS.puk}\n4321\n4322\n` });
    t.is(mismatch.code, 1, transcript(mismatch));
    t.regex(mismatch.stderr, /confirmation differ/);

    const wrongPuk = await runCli(['--data', h.dataDir, 'card', 'unblock', '1'], { input: '11112222\n4321\n4321\n' });
    t.is(wrongPuk.code, 1, transcript(wrongPuk));
    t.regex(wrongPuk.stderr, /Wrong PUK, 9 tries left/);
    t.false(wrongPuk.stderr.includes('11112222'));

    const ok = await runCli(['--data', h.dataDir, 'card', 'unblock', '1', '--json'], { input: `${DEMO_PINS.puk}\n4321\n4321\n` });
    t.is(ok.code, 0, transcript(ok));
    t.deepEqual(JSON.parse(ok.stdout), { pin: 'PIN1', unblocked: true });
    const renewed = await h.accessCard(undefined, pins('4321', DEMO_PINS.pin2));
    await renewed.unlock();
    t.true((await renewed.authorize(MARKET)).session.length > 0);
    t.like(await refusalOf(wrong.unlock()), { code: 'pin-wrong', triesLeft: 2 }, 'the PIN1 counter is full again');
  },
);

test.serial(
  '"homegate card change-pin 1" ends every terminal\'s card session, and "change-pin 2" (PIN1 first) changes PIN2; a wrong current PIN changes ' + 'nothing',
  async (t) => {
    const h = await startHousehold(t);
    const demo = await h.accessCard();
    await demo.unlock();

    const wrongCurrent = await runCli(['--data', h.dataDir, 'card', 'change-pin', '1'], { input: '9999\n4321\n4321\n' });
    t.is(wrongCurrent.code, 1, transcript(wrongCurrent));
    t.regex(wrongCurrent.stderr, /Wrong PIN1, 2 tries left/);

    await demo.unlock(); // the wrong try above ended its session; the person unlocks again
    const change1 = await runCli(['--data', h.dataDir, 'card', 'change-pin', '1'], { input: `${DEMO_PINS.pin1}\n4321\n4321\n` });
    t.is(change1.code, 0, transcript(change1));
    t.false(await demo.isUnlocked(), 'the cached old PIN1 is gone with the session');
    t.like(await refusalOf(demo.unlock()), { code: 'pin-wrong', pin: 'PIN1' });

    const change2 = await runCli(['--data', h.dataDir, 'card', 'change-pin', '2'], { input: `4321\n${DEMO_PINS.pin2}\n8765\n8765\n` });
    t.is(change2.code, 0, transcript(change2));
    const renewed = await h.accessCard(undefined, pins('4321', '8765'));
    await renewed.unlock();
    t.true((await renewed.authorize(MARKET)).session.length > 0);
  },
);

test.serial('The admin socket refuses a malformed new PIN before the card is asked, so no try is spent', async (t) => {
  const h = await startHousehold(t);
  const commands = h.gateway.cards.commandCount;
  const err = await h.admin('POST', '/admin/card/pins/1/unblock', { puk: DEMO_PINS.puk, newPin: '12' }).then(
    () => undefined,
    (e: unknown) => e as { code: string },
  );
  t.is(err?.code, 'bad-request');
  t.is(h.gateway.cards.commandCount, commands);
  const bad = await h.admin('POST', '/admin/card/pins/3/change', { currentPin: '1234', newPin: '4321' }).then(
    () => undefined,
    (e: unknown) => e as { code: string },
  );
  t.is(bad?.code, 'bad-request');
});

test.serial(
  'Scripted terminal commands: only "terminal unlock" reads PIN1; while locked, "terminal session" exits 3 without reading stdin, and after unlock ' +
    'it reads one line as PIN2',
  async (t) => {
    const h = await startHousehold(t);
    const data = ['--data', h.dataDir];
    const out = join(h.dataDir, 'session.pem');

    // The same script lines, PIN1 then PIN2, would have fed PIN1 as PIN2 before.
    const locked = await runCli([...data, 'terminal', 'session', MARKET, '--out', out, '--profile', 'demo'], {
      input: `${DEMO_PINS.pin1}\n${DEMO_PINS.pin2}\n`,
    });
    t.is(locked.code, 3, transcript(locked));
    t.regex(locked.stderr, /homegate terminal unlock/);
    await t.throwsAsync(stat(out), undefined, 'nothing was written');

    const unlock = await runCli([...data, 'terminal', 'unlock', '--profile', 'demo'], { input: `${DEMO_PINS.pin1}\n` });
    t.is(unlock.code, 0, transcript(unlock));
    const session = await runCli([...data, 'terminal', 'session', MARKET, '--out', out, '--profile', 'demo'], { input: `${DEMO_PINS.pin2}\n` });
    t.is(session.code, 0, transcript(session));
    t.true((await stat(out)).size > 0);

    // A PIN2 in the wrong place is a PIN2 try, never a PIN1 one.
    const wrong = await runCli([...data, 'terminal', 'session', MARKET, '--out', out, '--profile', 'demo'], { input: `${DEMO_PINS.pin1}\n` });
    t.is(wrong.code, 1, transcript(wrong));
    t.regex(wrong.stderr, /Wrong PIN2/);
  },
);
