/**
 * A Firmata 2.x peer on the card side of a pty pair, standing in for an
 * Arduino running StandardFirmata: enough of the protocol for johnny-five's
 * firmata client to get ready and drive digital pins.
 *
 *   sent at open and on request   REPORT_VERSION (F9 02 05), REPORT_FIRMWARE (F0 79 02 05 name F7)
 *   answered                      CAPABILITY_QUERY (F0 6B F7), ANALOG_MAPPING_QUERY (F0 69 F7)
 *   understood                    PIN_MODE (F4 pin mode), DIGITAL_MESSAGE (9p lsb msb), SET_DIGITAL_PIN_VALUE (F5 pin v),
 *                                 REPORT_DIGITAL (Dp 0|1), other sysex ignored
 *   reported                      DIGITAL_MESSAGE for a reported port whenever one of its inputs changes
 *
 * Inputs read high with their pull-up on (PIN_MODE PULLUP, or HIGH written to an input, as StandardFirmata
 * does) unless the test drives them (`setInput`).
 */
import { SerialPort } from 'serialport';

const INPUT = 0;
const OUTPUT = 1;
const PULLUP = 0x0b;
const PIN_COUNT = 20;

export interface FirmataPeer {
  /** Levels the host drove on output pins. */
  output(pin: number): 0 | 1;
  setInput(pin: number, value: 0 | 1): void;
  /** Bytes as they are, whatever they mean (a peer that misbehaves, line noise). */
  sendRaw(bytes: Uint8Array): void;
  readonly modes: ReadonlyMap<number, number>;
  close(): Promise<void>;
}

export async function startFirmataPeer(path: string): Promise<FirmataPeer> {
  const port = new SerialPort({ path, baudRate: 57_600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  const modes = new Map<number, number>();
  const outputs = new Map<number, 0 | 1>();
  const driven = new Map<number, 0 | 1>();
  const pullups = new Set<number>();
  const reported = new Set<number>();
  const send = (bytes: number[]) => port.write(Buffer.from(bytes));
  const version = () => send([0xf9, 2, 5]);
  const firmware = () => {
    const name = [...Buffer.from('StandardFirmata.ino')].flatMap((b) => [b & 0x7f, b >> 7]);
    send([0xf0, 0x79, 2, 5, ...name, 0xf7]);
  };
  const inputLevel = (pin: number): 0 | 1 => driven.get(pin) ?? (pullups.has(pin) ? 1 : 0);
  const reportPort = (p: number) => {
    let bits = 0;
    for (let i = 0; i < 8; i++) {
      const pin = p * 8 + i;
      const mode = modes.get(pin);
      const level = mode === OUTPUT ? (outputs.get(pin) ?? 0) : inputLevel(pin);
      if (level) bits |= 1 << i;
    }
    send([0x90 | p, bits & 0x7f, (bits >> 7) & 0x7f]);
  };
  const setPullup = (pin: number, on: boolean) => {
    const before = inputLevel(pin);
    if (on) pullups.add(pin);
    else pullups.delete(pin);
    if (inputLevel(pin) !== before && reported.has(pin >> 3)) reportPort(pin >> 3);
  };
  const writeLevel = (pin: number, v: 0 | 1) => {
    const mode = modes.get(pin);
    if (mode === INPUT || mode === PULLUP) setPullup(pin, v === 1);
    else outputs.set(pin, v);
  };

  let buf: number[] = [];
  const handle = () => {
    for (;;) {
      const first = buf[0];
      if (first === undefined) return;
      if (first === 0xf0) {
        const end = buf.indexOf(0xf7);
        if (end < 0) return;
        const msg = buf.splice(0, end + 1);
        const cmd = msg[1];
        if (cmd === 0x79) firmware();
        else if (cmd === 0x6b) {
          const caps = Array.from({ length: PIN_COUNT }, () => [INPUT, 1, OUTPUT, 1, PULLUP, 1, 0x7f]).flat();
          send([0xf0, 0x6c, ...caps, 0xf7]);
        } else if (cmd === 0x69) send([0xf0, 0x6a, ...Array(PIN_COUNT).fill(0x7f), 0xf7]);
        continue;
      }
      if (first === 0xf9) {
        buf.shift();
        version();
        continue;
      }
      const kind = first & 0xf0;
      if (first === 0xf4 || first === 0xf5 || kind === 0x90 || kind === 0xd0) {
        if (buf.length < 3 && !(kind === 0xd0 && buf.length >= 2)) return;
        if (kind === 0xd0) {
          const [, on] = buf.splice(0, 2) as [number, number];
          const p = first & 0x0f;
          if (on) {
            reported.add(p);
            reportPort(p);
          } else reported.delete(p);
          continue;
        }
        const [, a, b] = buf.splice(0, 3) as [number, number, number];
        if (first === 0xf4) {
          modes.set(a, b);
          if (b === PULLUP) setPullup(a, true);
        } else if (first === 0xf5) writeLevel(a, b ? 1 : 0);
        else {
          const p = first & 0x0f;
          const bits = a | (b << 7);
          for (let i = 0; i < 8; i++) {
            const pin = p * 8 + i;
            if (modes.has(pin)) writeLevel(pin, (bits >> i) & 1 ? 1 : 0);
          }
        }
        continue;
      }
      buf.shift(); // not a command start: resynchronize
    }
  };
  port.on('data', (d: Buffer) => {
    buf = buf.concat([...d]);
    handle();
  });
  // StandardFirmata announces itself after the board's reset.
  version();
  firmware();
  return {
    output: (pin) => outputs.get(pin) ?? 0,
    setInput(pin, value) {
      driven.set(pin, value);
      if (reported.has(pin >> 3)) reportPort(pin >> 3);
    },
    sendRaw: (bytes) => {
      port.write(Buffer.from(bytes));
    },
    modes,
    close: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  };
}
