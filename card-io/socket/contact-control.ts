/**
 * The virtual socket's control channel: a tiny line protocol (ASCII, one
 * command per line, "\n"-terminated) between the reference card (the
 * emulator, which plays the card and its socket) and whoever holds its
 * contacts (the gateway's virtual backend) or moves the card (a test, the
 * sandbox's `homegate panel insert|remove`). It carries what wires carry on
 * a board: VCC, RST and the detect switch, so insert, remove and reset run
 * the same code above SocketSignals as on hardware.
 *
 *   to the card          meaning
 *   power 1 | power 0    VCC on / off (ISO/IEC 7816-3 §6.2: C1)
 *   rst 1 | rst 0        RST asserted (held low) / released: the card answers with its ATR
 *   detect?              ask for the detect switch; answered "detect 1|0"
 *   insert [bounce=N]    a person inserts the card; N raw edges (bounces) within ~5 ms first
 *   remove [bounce=N]    a person pulls it
 *   pps accept|default|mute   how the card answers PPS (tests): echo, decline (keep Fd/Dd), silence
 *   mute 1 | mute 0      the card answers nothing from now on, not even a reset (tests: a dead card)
 *   hang                 the card stops answering until its next reset (tests: a card that locked up)
 *
 *   from the card
 *   detect 1 | detect 0  every raw edge of the detect switch (bounces included), to every peer
 */

import { parseLinkAddress } from '../link/open-link.js';

export type PpsBehaviour = 'accept' | 'default' | 'mute';

export type ControlCommand =
  | { kind: 'power'; on: boolean }
  | { kind: 'rst'; asserted: boolean }
  | { kind: 'detect?' }
  | { kind: 'insert' | 'remove'; bounce: number }
  | { kind: 'pps'; behaviour: PpsBehaviour }
  | { kind: 'mute'; on: boolean }
  | { kind: 'hang' }
  | { kind: 'detect'; present: boolean };

/** The most bounce edges a command may ask for: a switch settles in milliseconds, not thousands of edges. */
export const MAX_BOUNCE = 100;

/** One line in, a command out; undefined for a line that is not one (ignored, logged by the caller). */
export function parseControlLine(line: string): ControlCommand | undefined {
  const [word, arg, ...rest] = line.trim().split(/\s+/);
  if (rest.length) return undefined;
  const flag = arg === '1' ? true : arg === '0' ? false : undefined;
  switch (word) {
    case 'power':
      return flag === undefined ? undefined : { kind: 'power', on: flag };
    case 'rst':
      return flag === undefined ? undefined : { kind: 'rst', asserted: flag };
    case 'mute':
      return flag === undefined ? undefined : { kind: 'mute', on: flag };
    case 'detect':
      return flag === undefined ? undefined : { kind: 'detect', present: flag };
    case 'detect?':
      return arg === undefined ? { kind: 'detect?' } : undefined;
    case 'hang':
      return arg === undefined ? { kind: 'hang' } : undefined;
    case 'pps':
      return arg === 'accept' || arg === 'default' || arg === 'mute' ? { kind: 'pps', behaviour: arg } : undefined;
    case 'insert':
    case 'remove': {
      if (arg === undefined) return { kind: word, bounce: 0 };
      const m = /^bounce=(\d{1,3})$/.exec(arg);
      const n = m ? Number(m[1]) : Number.NaN;
      return n <= MAX_BOUNCE ? { kind: word, bounce: n } : undefined;
    }
    default:
      return undefined;
  }
}

export function formatControlCommand(c: ControlCommand): string {
  switch (c.kind) {
    case 'power':
      return `power ${c.on ? 1 : 0}\n`;
    case 'rst':
      return `rst ${c.asserted ? 1 : 0}\n`;
    case 'mute':
      return `mute ${c.on ? 1 : 0}\n`;
    case 'detect':
      return `detect ${c.present ? 1 : 0}\n`;
    case 'detect?':
      return 'detect?\n';
    case 'hang':
      return 'hang\n';
    case 'pps':
      return `pps ${c.behaviour}\n`;
    case 'insert':
    case 'remove':
      return c.bounce ? `${c.kind} bounce=${c.bounce}\n` : `${c.kind}\n`;
  }
}

/**
 * Splits a byte stream into lines; a line longer than 256 characters is
 * dropped whole (a peer that is not ours), including the part of it that
 * arrives after the buffer gave up on it: its tail is never taken for a command.
 */
export class LineSplitter {
  private buffer = '';
  /** The line being received is already too long: drop everything up to its newline. */
  private discarding = false;
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    this.buffer += chunk.toString();
    for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 1);
      if (this.discarding) this.discarding = false;
      else if (line.length <= MAX_LINE) this.onLine(line);
    }
    if (this.buffer.length > MAX_LINE) {
      this.buffer = '';
      this.discarding = true;
    }
  }
}

/** The longest control line, in characters: every command is far shorter. */
const MAX_LINE = 256;

/** Where a control channel listens: tcp://host:port, or an absolute path naming a unix socket. */
export type ControlAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export function controlListenOptions(address: ControlAddress): { host: string; port: number } | { path: string } {
  return address.kind === 'tcp' ? { host: address.host, port: address.port } : { path: address.path };
}

/** tcp://host:port or an absolute path (a unix socket); throws CardError(InvalidLinkAddress) otherwise. */
export function parseControlAddress(address: string): ControlAddress {
  const parsed = parseLinkAddress(address);
  return parsed.kind === 'tcp' ? parsed : { kind: 'unix', path: parsed.path };
}
