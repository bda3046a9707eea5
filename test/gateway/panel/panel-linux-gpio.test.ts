import test, { type ExecutionContext } from 'ava';
import { silentLogger } from '../../../card-io/base/log.js';
import { ConfirmationError } from '../../../gateway/emoney/confirmation.js';
import { GatewayEvents } from '../../../gateway/events/gateway-events.js';
import { parseLibgpiodVersion, parseMonitorLine } from '../../../gateway/panel/linux-gpio-io.js';
import { Panel } from '../../../gateway/panel/panel.js';
import { panelOptionsSchema } from '../../../gateway/panel/panel-options.js';
import { type FakeLibgpiod, installFakeLibgpiod } from '../../helpers/fake-libgpiod.js';

// Each test changes PATH for the spawned tools: one at a time in this file.
const serial = test.serial;
const PINS = { ready: 5, busy: 6, attention: 13, button: 17, buzzer: 18 };

async function until(what: string, check: () => Promise<boolean>, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function startOnFakeTools(t: ExecutionContext, major: 1 | 2) {
  const gpio = await installFakeLibgpiod(t, { major });
  const events = new GatewayEvents();
  const options = panelOptionsSchema.parse({ plugin: 'linux-gpio', pins: PINS, confirm: { payAbove: 100, timeoutMs: 20_000, longPressMs: 2000 } });
  const panel = await Panel.start({ options, events, logger: silentLogger });
  t.teardown(() => panel.close());
  return { gpio, events, panel };
}

async function press(gpio: FakeLibgpiod, holdMs: number) {
  await gpio.setInput(PINS.button, 0);
  await new Promise((r) => setTimeout(r, holdMs));
  await gpio.setInput(PINS.button, 1);
}

for (const major of [1, 2] as const) {
  serial(`libgpiod v${major}: LEDs are driven by gpioset in that version's syntax and follow the events`, async (t) => {
    const { gpio, events } = await startOnFakeTools(t, major);
    events.emit('card-activated', { at: 1, cardId: 'c1' });
    await until('ready LED on', async () => (await gpio.output(PINS.ready)) === 1);
    events.emit('card-removed', { at: 2, reason: 'pulled' });
    await until('ready LED off', async () => (await gpio.output(PINS.ready)) === 0);
    const sets = (await gpio.calls()).filter((c) => c[0] === 'gpioset' && c[1] !== '--version');
    const expected = major === 1 ? ['gpioset', '--mode=signal', 'gpiochip0', `${PINS.ready}=1`] : ['gpioset', '-c', 'gpiochip0', `${PINS.ready}=1`];
    t.true(
      sets.some((c) => JSON.stringify(c) === JSON.stringify(expected)),
      JSON.stringify(sets),
    );
  });

  serial(`libgpiod v${major}: a press read through gpiomon with the pull-up confirms a waiting payment`, async (t) => {
    const { gpio, panel } = await startOnFakeTools(t, major);
    await until('the button is watched with its pull-up', async () =>
      (await gpio.calls()).some((c) => c[0] === 'gpiomon' && c.includes(String(PINS.button)) && (c.includes('--bias=pull-up') || c.includes('pull-up'))),
    );
    const waiting = panel.confirmation.awaitConfirmation({ kind: 'pay', amount: 101, currency: 'EUR', terminal: 't1' });
    await press(gpio, 80);
    await t.notThrowsAsync(waiting);
  });
}

serial('libgpiod v1: a long press read through gpiomon refuses the waiting payment', async (t) => {
  const { gpio, panel } = await startOnFakeTools(t, 1);
  await until('the button is watched', async () => (await gpio.calls()).some((c) => c[0] === 'gpiomon' && c.includes('--bias=pull-up')));
  const waiting = t.throwsAsync(panel.confirmation.awaitConfirmation({ kind: 'pay', amount: 500, currency: 'EUR', terminal: 't1' }), {
    instanceOf: ConfirmationError,
  });
  await press(gpio, 2600);
  t.is((await waiting)?.code, 'confirmation-refused');
});

test('the libgpiod version is read from gpioset --version, and gpiomon lines of both versions are understood', (t) => {
  t.is(parseLibgpiodVersion('gpioset (libgpiod) v1.6.3\nCopyright'), 1);
  t.is(parseLibgpiodVersion('gpioset (libgpiod) v2.1.1'), 2);
  t.throws(() => parseLibgpiodVersion('something else'));
  t.deepEqual(parseMonitorLine('1 17', 1), { offset: 17, value: 1 });
  t.deepEqual(parseMonitorLine('0 17', 1), { offset: 17, value: 0 });
  t.deepEqual(parseMonitorLine('2 17', 2), { offset: 17, value: 0 });
  t.is(parseMonitorLine('2 17', 1), undefined);
  t.is(parseMonitorLine('event: RISING EDGE offset: 17', 1), undefined);
});

serial('a line another program holds makes the tool fail, and the panel reports it as a problem', async (t) => {
  const gpio = await installFakeLibgpiod(t, { major: 1 });
  // Another program holds the ready LED's line (as a user's own gpioset would).
  const { spawn } = await import('node:child_process');
  const other = spawn(`${gpio.binDir}/gpioset`, ['--mode=signal', 'gpiochip0', `${PINS.ready}=0`], { stdio: 'ignore' });
  t.teardown(() => void other.kill('SIGTERM'));
  await until('the other program holds the line', async () => (await gpio.calls()).some((c) => c[0] === 'gpioset' && c.includes(`${PINS.ready}=0`)));
  const events = new GatewayEvents();
  const problems: string[] = [];
  events.on('problem', (p) => problems.push(p.message));
  const options = panelOptionsSchema.parse({ plugin: 'linux-gpio', pins: PINS });
  const panel = await Panel.start({ options, events, logger: silentLogger });
  t.teardown(() => panel.close());
  await until('a problem is reported', async () => problems.length > 0);
  t.regex(problems[0]!, /gpioset for line 5 failed: exited with code 1/);
});
