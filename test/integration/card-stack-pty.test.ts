/**
 * The card-stack suite over a real pty pair (socat): the reference card runs
 * as its own process (`homegate card emulate`) on the card side, the driver
 * opens the host side with connectHomeCard, as the gateway does. Plus what
 * only a real line and a real process can show: a card killed mid-life and
 * restarted on its image, and a serial device that vanishes and comes back.
 */
import type { ExecutionContext } from 'ava';
import { CardErrorCode, isCardError, isCardErrorInBand } from '../../card-io/errors.js';
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import type { LinkStatus } from '../../card-io/link/link.js';
import { needsBinary } from '../helpers/binaries.js';
import { TEST_PINS, bootPtyCard, personalizeTestCard } from '../helpers/household/index.js';
import { waitForStatus } from '../helpers/link-probes.js';
import { expectCardError, registerCardStackSuite } from './card-stack-suite.js';

const socat = needsBinary('socat');

registerCardStackSuite(socat.test, (t) => bootPtyCard(t));

/**
 * The first command after the card powered up behind a line that stayed open:
 * the driver's T=1 sequence numbers may no longer match the card's, so that
 * command may fail with Resynchronized (never run, PROTOCOL.md/t1); the link
 * is resynchronized then, and the next command must succeed.
 */
async function selectAfterCardPowerUp(t: ExecutionContext, card: HomeCard): Promise<void> {
  try {
    await card.select();
    return;
  } catch (e) {
    t.true(isCardError(e, CardErrorCode.Resynchronized), `first command after power-up: ${String(e)}`);
  }
  await card.select();
}

socat.test('PIN retry counters survive a kill -9 of the emulator process, and wrong tries are still counted after the restart', async (t) => {
  const cut = await bootPtyCard(t);
  await personalizeTestCard(cut);
  const first = await expectCardError(t, cut.card.verifyPin1('9999'), CardErrorCode.WrongPin);
  t.is(first.context.triesLeft, 2);

  const oldPid = cut.emulator.pid;
  await cut.restartEmulator('SIGKILL');
  t.not(cut.emulator.pid, oldPid);

  await selectAfterCardPowerUp(t, cut.card);
  t.deepEqual((await cut.card.info()).retryCounters.pin1, { left: 2, max: 3 });
  const second = await expectCardError(t, cut.card.verifyPin1('9999'), CardErrorCode.WrongPin);
  t.is(second.context.triesLeft, 1);
  // The right PIN still works and restores the counter, on the restarted card.
  await cut.card.verifyPin1(TEST_PINS.pin1);
  t.deepEqual((await cut.card.info()).retryCounters.pin1, { left: 3, max: 3 });
});

socat.test('When the serial device vanishes and comes back, the link reports disconnected then connected and the next command succeeds', async (t) => {
  const cut = await bootPtyCard(t);
  await personalizeTestCard(cut);
  await cut.card.verifyPin1(TEST_PINS.pin1);
  const seen: LinkStatus[] = [];
  cut.link.onStatus((s) => seen.push(s));

  await cut.pty.stop();
  await waitForStatus(cut.link, 'disconnected', 5000);
  const whileGone = await t.throwsAsync(cut.card.select());
  t.true(isCardErrorInBand(whileGone, 300), `while the device is gone: ${String(whileGone)}`);

  await cut.pty.restart();
  await waitForStatus(cut.link, 'connected', 10_000);
  t.deepEqual(seen, ['disconnected', 'connected']);

  // The card powered up again: a fresh card session, PIN1 no longer verified.
  const status = await cut.card.pinStatus('PIN1');
  t.deepEqual(status, { verified: false, triesLeft: 3, blocked: false });
  await cut.card.verifyPin1(TEST_PINS.pin1);
  await cut.card.verifyPin2(TEST_PINS.pin2);
  t.true((await cut.card.sign(Buffer.alloc(32, 7))).length > 0);
});
