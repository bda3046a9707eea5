/**
 * The retry counters as a part of the card state that can be committed on
 * its own (counter-file.ts): which commits change nothing but counters, the
 * counters of a state, and a state with stored counters applied.
 */
import { CardError, CardErrorCode } from '../errors.js';
import type { CardState, PinRecord, PinRef } from './card-state.js';
import type { CounterValues } from './counter-file.js';

const PINS: readonly PinRef[] = ['pin1', 'pin2', 'puk'];

function samePinButTries(a: PinRecord | null, b: PinRecord | null): boolean {
  if (a === null || b === null) return a === b;
  return a.salt === b.salt && a.hash === b.hash && a.tries.max === b.tries.max;
}

/**
 * True when `next` differs from `prev` in tries left only (what a counted try
 * and its restore commit, counted-check.ts). States are immutable and a
 * counter change keeps every other field's object (card-state.ts
 * withCounter), so identity is the test: anything rebuilt is a full commit.
 */
export function changesCountersOnly(prev: CardState, next: CardState): boolean {
  for (const key of Object.keys(next) as Array<keyof CardState>) {
    if (key === 'pin1' || key === 'pin2' || key === 'puk' || key === 'adminTries') continue;
    if (prev[key] !== next[key]) return false;
  }
  if (Object.keys(prev).length !== Object.keys(next).length) return false;
  return PINS.every((ref) => samePinButTries(prev[ref], next[ref])) && prev.adminTries.max === next.adminTries.max;
}

export function countersOf(s: CardState): CounterValues {
  return { pin1: s.pin1?.tries.left ?? null, pin2: s.pin2?.tries.left ?? null, puk: s.puk?.tries.left ?? null, admin: s.adminTries.left };
}

function corrupt(reason: string): CardError {
  return new CardError(CardErrorCode.ImageCorrupt, `Card counter file is corrupt: ${reason}`, { reason });
}

/**
 * `s` with the stored tries left. A value for a PIN the image does not have,
 * or above its maximum, is damage no torn write makes (the slot's CRC
 * checked): CardError(ImageCorrupt), never a guess.
 */
export function withStoredCounters(s: CardState, v: CounterValues): CardState {
  const tries = (ref: PinRef): PinRecord | null => {
    const pin = s[ref];
    const left = v[ref];
    if (pin === null) {
      if (left !== null) throw corrupt(`${ref} has a counter but is not set`);
      return null;
    }
    if (left === null || left > pin.tries.max) throw corrupt(`${ref} counter out of range`);
    return { ...pin, tries: { ...pin.tries, left } };
  };
  if (v.admin > s.adminTries.max) throw corrupt('admin counter out of range');
  return { ...s, pin1: tries('pin1'), pin2: tries('pin2'), puk: tries('puk'), adminTries: { ...s.adminTries, left: v.admin } };
}
