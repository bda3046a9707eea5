/**
 * The modem-lines backend (Phoenix/Smartmouse readers) through serialport's
 * own mock binding: the real SerialPort stream, set() and get() down to a
 * binding whose modem lines the test moves. A pty has no modem lines, so this
 * is as close to the wire as a test machine gets.
 */
import test from 'ava';
import { SerialPortMock } from 'serialport';
import { serialModemLines } from '../../card-io/link/serial-transport.js';
import { CardSocket } from '../../card-io/socket/card-socket.js';
import { ModemLinesSignals } from '../../card-io/socket/modem-lines-signals.js';
import { createMemoryLinkPair } from '../../card-io/link/memory-link.js';

interface Wires {
  cts: boolean;
  dsr: boolean;
  dcd: boolean;
  sets: Array<Record<string, boolean | undefined>>;
}

let serial = 0;

async function mockPort(t: { teardown(fn: () => unknown): void }): Promise<{ port: SerialPortMock; wires: Wires }> {
  const path = `/dev/mock-reader-${serial++}`;
  SerialPortMock.binding.createPort(path);
  const port = new SerialPortMock({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  t.teardown(() => new Promise<void>((resolve) => port.close(() => resolve())));
  const wires: Wires = { cts: false, dsr: false, dcd: false, sets: [] };
  // The mock binding answers fixed lines; this one answers the test's wires and records what is driven.
  const binding = port.port!;
  binding.get = async () => ({ cts: wires.cts, dsr: wires.dsr, dcd: wires.dcd });
  binding.set = async (o) => {
    wires.sets.push({ rts: o.rts, dtr: o.dtr });
  };
  return { port, wires };
}

test('detect on DCD active low: the line dropping is a card in, rising is the card out, each seen by polling', async (t) => {
  const { port, wires } = await mockPort(t);
  wires.dcd = true;
  const signals = new ModemLinesSignals({ lines: () => serialModemLines(port), detect: { line: 'dcd', activeLow: true }, pollMs: 5 });
  t.teardown(() => signals.close());
  t.false(await signals.readDetect());
  const edges: boolean[] = [];
  signals.onDetectEdge((p) => edges.push(p));
  await new Promise((resolve) => setTimeout(resolve, 30));
  wires.dcd = false;
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.true(await signals.readDetect());
  wires.dcd = true;
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.deepEqual(edges, [false, true, false]);
});

test('RST follows RTS with the configured polarity, and the reader powers the card itself', async (t) => {
  const { port, wires } = await mockPort(t);
  const high = new ModemLinesSignals({ lines: () => serialModemLines(port) });
  const low = new ModemLinesSignals({ lines: () => serialModemLines(port), reset: { line: 'dtr', activeLow: true } });
  t.teardown(() => high.close());
  t.teardown(() => low.close());
  await high.setReset(true);
  await high.setReset(false);
  await low.setReset(true);
  t.deepEqual(wires.sets, [
    { rts: true, dtr: true },
    { rts: false, dtr: true },
    { rts: true, dtr: false },
  ]);
  t.false(high.switchesPower);
});

test('a closed reader line reads as no card and refuses to drive RST', async (t) => {
  const signals = new ModemLinesSignals({ lines: () => undefined });
  t.teardown(() => signals.close());
  t.false(await signals.readDetect());
  await t.throwsAsync(signals.setReset(true), { message: /not open/ });
});

test('a card socket on modem lines reports the insertion once the CTS bounce settles', async (t) => {
  const { port, wires } = await mockPort(t);
  const signals = new ModemLinesSignals({ lines: () => serialModemLines(port), pollMs: 2 });
  const pair = createMemoryLinkPair('reader');
  const socket = await CardSocket.open({ signals, link: pair.a, baudRate: 9600, debounceMs: 20 });
  t.teardown(() => socket.close());
  const changes: boolean[] = [];
  socket.onPresence((c) => changes.push(c.present));
  for (let i = 0; i < 6; i++) {
    wires.cts = !wires.cts;
    await new Promise((resolve) => setTimeout(resolve, 4));
  }
  wires.cts = true;
  await new Promise((resolve) => setTimeout(resolve, 80));
  t.deepEqual(changes, [true]);
  t.true(socket.present);
});
