/**
 * The gpio card-socket backend: the socket's contacts wired to the panel's
 * board (ISO/IEC 7816-3 §5: C2 RST, C1 VCC through a transistor) and the
 * socket's detect switch on an input, driven through johnny-five.
 *
 * Detect edges are handed up raw, bounces included: the card socket debounces
 * them once for every backend (socket-signals.ts), so this does not use
 * johnny-five's Switch, whose own 5 ms debounce would hide edges.
 * RST is active low on the card: asserted = the pin low. VCC is on while its
 * pin is high (the pin drives the supply's switching transistor).
 */
import five, { type Board } from 'johnny-five';
import type { SocketSignals } from '../../card-io/socket/socket-signals.js';
import { PanelError } from './digital-io-plugin.js';

export interface GpioSocketPins {
  rstPin: number;
  detectPin: number;
  vccPin?: number;
  /** The detect switch reads low with a card in (a switch to ground with a pull-up). */
  detectActiveLow: boolean;
}

/** What the backend needs of the board: johnny-five's Board with its IO plugin. */
export interface IoBoard {
  readonly io: {
    MODES: { INPUT: number };
    pinMode(pin: number, mode: number): unknown;
    digitalWrite(pin: number, value: number): unknown;
    digitalRead(pin: number, cb: (value: number) => void): unknown;
    removeListener(event: string, listener: (value: number) => void): unknown;
  };
}

/** How long the detect pin's first level may take, in ms: a line another program holds never gives one (linux-gpio). */
const FIRST_READ_TIMEOUT_MS = 5000;

export function createGpioSocketSignals(board: Board & IoBoard, pins: GpioSocketPins, o: { firstReadTimeoutMs?: number } = {}): SocketSignals {
  const io = board.io;
  const rst = new five.Pin({ pin: pins.rstPin, board, type: 'digital' });
  const vcc = pins.vccPin === undefined ? undefined : new five.Pin({ pin: pins.vccPin, board, type: 'digital' });
  const listeners = new Set<(present: boolean) => void>();
  let raw: number | undefined;
  const firstRead: Array<(v: number) => void> = [];
  const present = (v: number) => (pins.detectActiveLow ? v === 0 : v === 1);
  const onRaw = (v: number) => {
    const edge = raw !== undefined && raw !== v;
    raw = v;
    for (const f of firstRead.splice(0)) f(v);
    if (edge) for (const l of listeners) l(present(v));
  };
  io.pinMode(pins.detectPin, io.MODES.INPUT);
  // A detect switch to ground needs the pull-up (Firmata's convention: HIGH on an input).
  if (pins.detectActiveLow) io.digitalWrite(pins.detectPin, 1);
  io.digitalRead(pins.detectPin, onRaw);
  let closed = false;

  return {
    kind: 'gpio',
    switchesPower: vcc !== undefined,
    async readDetect() {
      if (closed) throw new PanelError('not-ready', 'The gpio card socket is closed', {});
      // Without a level the gateway's start would wait for ever: a clear error instead.
      const v = raw ?? (await firstLevel(firstRead, pins.detectPin, o.firstReadTimeoutMs ?? FIRST_READ_TIMEOUT_MS));
      return present(v);
    },
    onDetectEdge(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async setPower(on) {
      if (on) vcc?.high();
      else vcc?.low();
    },
    async setReset(asserted) {
      if (asserted) rst.low();
      else rst.high();
    },
    describe() {
      return {
        backend: 'gpio',
        rstPin: pins.rstPin,
        detectPin: pins.detectPin,
        ...(pins.vccPin === undefined ? {} : { vccPin: pins.vccPin }),
        detectActiveLow: pins.detectActiveLow,
      };
    },
    async close() {
      closed = true;
      listeners.clear();
      io.removeListener(`digital-read-${pins.detectPin}`, onRaw);
    },
  };
}

function firstLevel(waiters: Array<(v: number) => void>, pin: number, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const waiter = (v: number) => {
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => {
      waiters.splice(waiters.indexOf(waiter) >>> 0, 1);
      reject(
        new PanelError('io-failed', `The card socket's detect pin ${pin} gave no level within ${timeoutMs} ms (is the line held by another program?)`, { pin }),
      );
    }, timeoutMs);
    waiters.push(waiter);
  });
}
