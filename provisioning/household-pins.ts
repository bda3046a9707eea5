/**
 * The household's own PINs for its card: the rules checked before anything
 * is written to the card, and the labelled lines `provision card --pins-fd`
 * reads. Labels (`pin1=`, `pin2=`, `puk=`), not positions: a script whose
 * lines are out of order, or short of one, is refused instead of setting one
 * PIN to another's value.
 *
 * Rules: what the card takes (PROTOCOL.md: PIN1 and PIN2 4 to 8 digits, the
 * PUK exactly 8), none of them one digit repeated (the first a thief types),
 * PIN1 ≠ PIN2 (PIN2 is the second factor of a payment; claim 3), and the PUK
 * equal to neither. Messages name the PIN, never its value.
 */
import { CodedError } from '../card-io/base/coded-error.js';
import type { CardPins } from './personalize-card.js';

export type PinRuleErrorCode = 'pin-rule' | 'pin-input';

export class PinRuleError extends CodedError<PinRuleErrorCode> {
  override readonly name = 'PinRuleError';
  readonly family = 'provisioning';
  constructor(code: PinRuleErrorCode, message: string, context: Record<string, unknown> = {}) {
    super(code, message, context);
  }
}

const LENGTHS = { pin1: [4, 8], pin2: [4, 8], puk: [8, 8] } as const;
const NAMES = { pin1: 'PIN1', pin2: 'PIN2', puk: 'PUK' } as const;
type Which = keyof typeof LENGTHS;

export function checkHouseholdPins(p: CardPins): void {
  for (const which of Object.keys(LENGTHS) as Which[]) {
    const v = p[which];
    const [min, max] = LENGTHS[which];
    const name = NAMES[which];
    if (!/^[0-9]+$/.test(v) || v.length < min || v.length > max) {
      throw new PinRuleError('pin-rule', `${name} must be ${min === max ? `exactly ${min}` : `${min} to ${max}`} digits`, { pin: name });
    }
    if (/^(\d)\1*$/.test(v)) throw new PinRuleError('pin-rule', `${name} must not be one digit repeated`, { pin: name });
  }
  if (p.pin1 === p.pin2) throw new PinRuleError('pin-rule', 'PIN1 and PIN2 must differ', { pin: 'PIN2' });
  if (p.puk === p.pin1 || p.puk === p.pin2) throw new PinRuleError('pin-rule', 'The PUK must differ from PIN1 and PIN2', { pin: 'PUK' });
}

/**
 * The rules a new PIN set later (`card change-pin`, `card unblock`) can be held
 * to: not one digit repeated, and different from the other PIN where it is
 * known (change-pin 2 is given PIN1). Throws PinRuleError('pin-rule').
 */
export function checkNewPin(which: 'PIN1' | 'PIN2', newPin: string, otherPin?: string): void {
  if (/^(\d)\1*$/.test(newPin)) throw new PinRuleError('pin-rule', `The new ${which} must not be one digit repeated`, { pin: which });
  if (otherPin !== undefined && newPin === otherPin) throw new PinRuleError('pin-rule', 'PIN1 and PIN2 must differ', { pin: which });
}

/** `pin1=…`, `pin2=…`, `puk=…`, one per line, each exactly once; blank lines are ignored. */
export function parsePinLines(text: string): CardPins {
  const found: Partial<Record<Which, string>> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^(pin1|pin2|puk)=(.*)$/.exec(line);
    if (!m) throw new PinRuleError('pin-input', 'Each PIN line must be pin1=…, pin2=… or puk=…');
    const which = m[1] as Which;
    if (found[which] !== undefined) throw new PinRuleError('pin-input', `${NAMES[which]} is given twice`, { pin: NAMES[which] });
    found[which] = m[2]!;
  }
  const missing = (Object.keys(LENGTHS) as Which[]).filter((w) => found[w] === undefined).map((w) => NAMES[w]);
  if (missing.length > 0) throw new PinRuleError('pin-input', `Missing ${missing.join(', ')} (lines pin1=…, pin2=…, puk=…)`, { missing });
  return { pin1: found.pin1!, pin2: found.pin2!, puk: found.puk! };
}
