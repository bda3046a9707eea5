import test from 'ava';
import { silentLogger } from '../../../card-io/base/log.js';
import { createGpioSocketSignals, type IoBoard } from '../../../gateway/panel/gpio-socket-signals.js';
import { openPanelBoard } from '../../../gateway/panel/panel-board.js';

const PINS = { rstPin: 22, detectPin: 23, vccPin: 24 };

async function socketOnVirtualBoard(t: { teardown(f: () => Promise<void>): void }, detectActiveLow: boolean, withVcc = true) {
  const panelBoard = await openPanelBoard({ plugin: 'virtual', baudRate: 57_600, chip: 'gpiochip0' }, silentLogger);
  t.teardown(() => panelBoard.close());
  const io = panelBoard.virtual!;
  const signals = createGpioSocketSignals(panelBoard.board as typeof panelBoard.board & IoBoard, {
    rstPin: PINS.rstPin,
    detectPin: PINS.detectPin,
    ...(withVcc ? { vccPin: PINS.vccPin } : {}),
    detectActiveLow,
  });
  t.teardown(() => signals.close());
  return { io, signals };
}

test('an active-low detect switch reads a card when its pin is pulled low, and every raw edge reaches the socket layer', async (t) => {
  const { io, signals } = await socketOnVirtualBoard(t, true);
  // The pull-up holds the pin high with the socket empty.
  t.false(await signals.readDetect());
  const edges: boolean[] = [];
  signals.onDetectEdge((present) => edges.push(present));
  // A bouncing switch: ten edges in a row, none of them filtered here.
  for (let i = 0; i < 10; i++) io.setInput(PINS.detectPin, i % 2 === 0 ? 0 : 1);
  t.deepEqual(edges, [true, false, true, false, true, false, true, false, true, false]);
  io.setInput(PINS.detectPin, 0);
  t.true(await signals.readDetect());
});

test('an active-high detect switch reads a card when its pin is high', async (t) => {
  const { io, signals } = await socketOnVirtualBoard(t, false);
  t.false(await signals.readDetect());
  io.setInput(PINS.detectPin, 1);
  t.true(await signals.readDetect());
});

test('reset asserted drives RST low, released drives it high; power drives the VCC pin', async (t) => {
  const { io, signals } = await socketOnVirtualBoard(t, true);
  t.true(signals.switchesPower);
  await signals.setPower(true);
  t.is(io.level(PINS.vccPin), 1);
  await signals.setReset(true);
  t.is(io.level(PINS.rstPin), 0);
  await signals.setReset(false);
  t.is(io.level(PINS.rstPin), 1);
  await signals.setPower(false);
  t.is(io.level(PINS.vccPin), 0);
  t.deepEqual(signals.describe(), { backend: 'gpio', rstPin: 22, detectPin: 23, vccPin: 24, detectActiveLow: true });
});

test('without a VCC pin the socket says it cannot switch power, and setPower changes no pin', async (t) => {
  const { io, signals } = await socketOnVirtualBoard(t, true, false);
  const writes: number[] = [];
  io.on('output', (o: { pin: number }) => writes.push(o.pin));
  t.false(signals.switchesPower);
  await signals.setPower(true);
  t.deepEqual(writes, []);
  t.is(signals.kind, 'gpio');
});

test('after close no edge reaches a listener', async (t) => {
  const { io, signals } = await socketOnVirtualBoard(t, true);
  await signals.readDetect();
  const edges: boolean[] = [];
  signals.onDetectEdge((p) => edges.push(p));
  await signals.close();
  io.setInput(PINS.detectPin, 0);
  t.deepEqual(edges, []);
});

test('a detect pin that never gives a level (a line another program holds) fails the read with a clear error instead of hanging', async (t) => {
  const panelBoard = await openPanelBoard({ plugin: 'virtual', baudRate: 57_600, chip: 'gpiochip0' }, silentLogger);
  t.teardown(() => panelBoard.close());
  // Its IO plugin never reports the detect pin (as linux-gpio when gpioget cannot have the line).
  const io = Object.assign(Object.create(panelBoard.board.io), { digitalRead: () => undefined });
  const board = Object.assign(Object.create(panelBoard.board), { io }) as typeof panelBoard.board & IoBoard;
  const signals = createGpioSocketSignals(board, { rstPin: 22, detectPin: 23, detectActiveLow: true }, { firstReadTimeoutMs: 50 });
  const e = await t.throwsAsync(signals.readDetect());
  t.regex(e!.message, /detect pin 23 gave no level within 50 ms/);
});
