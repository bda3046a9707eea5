/**
 * PIN references and the PIN block (PROTOCOL.md "Encodings"): 8 bytes, the PIN
 * as ASCII digits padded with FF. PIN1 and PIN2 are 4 to 8 digits, the PUK
 * exactly 8.
 *
 * The gateway validates before sending, although the card answers 6A80 to a
 * malformed block without counting a try: a clear local error is better than
 * a status word, and a malformed PIN never needs to leave the process.
 *
 * Errors here never carry the PIN, nor its length (the length narrows a guess).
 */
import { CardError, CardErrorCode } from '../errors.js';

/** A PIN the cardholder verifies. */
export type PinId = 'PIN1' | 'PIN2';
/** Every credential that is encoded as a PIN block. */
export type PinBlockKind = PinId | 'PUK';

export const PIN_BLOCK_LENGTH = 8;

/**
 * P2 of VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER: a specific
 * (bit 8 set) reference data number (ISO/IEC 7816-4 §11.5.6, P2 coding).
 */
export const PIN_REFERENCE: Readonly<Record<PinId, number>> = { PIN1: 0x81, PIN2: 0x82 };

const DIGITS_RANGE: Readonly<Record<PinBlockKind, { min: number; max: number; text: string }>> = {
  PIN1: { min: 4, max: 8, text: '4 to 8 digits' },
  PIN2: { min: 4, max: 8, text: '4 to 8 digits' },
  PUK: { min: 8, max: 8, text: 'exactly 8 digits' },
};

/** Throws CardError(InvalidArgument) unless `pin` is a well-formed value of this kind. */
export function validatePin(kind: PinBlockKind, pin: unknown): asserts pin is string {
  const range = DIGITS_RANGE[kind];
  const ok = typeof pin === 'string' && /^[0-9]+$/.test(pin) && pin.length >= range.min && pin.length <= range.max;
  if (!ok) {
    throw new CardError(CardErrorCode.InvalidArgument, `${kind} must be ${range.text}`, { pin: kind });
  }
}

/** Encode a validated PIN as its 8-byte block: ASCII digits, then FF up to 8 bytes. */
export function encodePinBlock(kind: PinBlockKind, pin: string): Buffer {
  validatePin(kind, pin);
  const block = Buffer.alloc(PIN_BLOCK_LENGTH, 0xff);
  block.write(pin, 0, 'ascii');
  return block;
}

/** Throws CardError(InvalidArgument) for anything but 'PIN1' or 'PIN2' (callers may be untyped JS). */
export function pinReference(which: PinId): number {
  const ref = (PIN_REFERENCE as Record<string, number | undefined>)[which];
  if (ref === undefined) {
    // The value is not echoed: a caller that mixed up arguments may have passed a PIN here.
    throw new CardError(CardErrorCode.InvalidArgument, "PIN reference must be 'PIN1' or 'PIN2'");
  }
  return ref;
}
