/**
 * What a command may leave in the card image: the state before it and every
 * state it commits on the way (a counted try commits the decrement first and
 * the restore second, PROTOCOL.md "Anti-tearing"). Found by running the same
 * command APDU on an in-process applet over a memory store that records each
 * commit, starting from the state read from the image.
 *
 * States are compared as a `StateView`: every field exactly, except that a PIN
 * record is named by the known PIN it matches, because a new PIN gets a random
 * salt (its hash differs between the emulator and the in-process copy).
 */
import { parseResponseApdu } from '../../card-io/apdu/response-apdu.js';
import { createHomeCardApplet } from '../../card-io/emulator/applet.js';
import { createMemoryCardStore, type CardStore } from '../../card-io/emulator/card-store.js';
import type { CardState, PinRecord } from '../../card-io/emulator/card-state.js';
import { pinMatches } from '../../card-io/emulator/pin-block.js';
import { KNOWN_PINS, runPrep, type Scenario } from './tearing-scenarios.js';

export interface PinView {
  /** The known PIN this record matches, or '?' when none does. */
  pin: string;
  left: number;
  max: number;
}

export interface StateView {
  pin1: PinView | null;
  pin2: PinView | null;
  puk: PinView | null;
  adminTries: { left: number; max: number };
  /** Every other field of CardState (the purse too), Buffers as hex, bigints as strings. */
  [field: string]: unknown;
}

function pinView(p: PinRecord | null): PinView | null {
  if (p === null) return null;
  const pin = KNOWN_PINS.find((digits) => pinMatches(p, Buffer.from(digits, 'ascii'))) ?? '?';
  return { pin, left: p.tries.left, max: p.tries.max };
}

/** Plain data for isDeepStrictEqual and readable diffs. */
function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (typeof v === 'bigint') return `${v}n`;
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

export function stateView(s: CardState): StateView {
  const { pin1, pin2, puk, adminTries, ...rest } = s;
  return { ...(plain(rest) as Record<string, unknown>), adminTries: { ...adminTries }, pin1: pinView(pin1), pin2: pinView(pin2), puk: pinView(puk) };
}

export interface Expected {
  /** The state before, then each committed state in order; the last is the completed command's. */
  states: StateView[];
  /** The status word the completed command answers. */
  sw: number;
}

/** Run `scenario` in process on a copy of `before`; the emulator must end in one of `states`. */
export async function expectedStates(before: CardState, scenario: Scenario, adminKey: Buffer): Promise<Expected> {
  const memory = createMemoryCardStore(before);
  const commits: CardState[] = [];
  let recording = false;
  const store: CardStore = {
    get state() {
      return memory.state;
    },
    async commit(next) {
      await memory.commit(next);
      if (recording) commits.push(next);
    },
  };
  const applet = createHomeCardApplet({ store });
  const send = (apdu: Buffer) => applet.process(apdu);
  await runPrep(send, scenario.prep, adminKey);
  recording = true;
  const { sw } = parseResponseApdu(await send(Buffer.from(scenario.apdu)));
  return { states: [before, ...commits].map(stateView), sw };
}
