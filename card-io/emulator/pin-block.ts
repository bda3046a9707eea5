/**
 * PIN blocks and how the card keeps PINs.
 *
 * A PIN block (PROTOCOL.md, Encodings) is 8 bytes: ASCII digits, then `FF`
 * padding. PIN1/PIN2 have 4 to 8 digits, the PUK exactly 8. A block that is
 * not well formed is refused before any counter is touched, so a malformed PIN
 * never costs a try.
 *
 * The card stores a salted SHA-256 of the digits, never the digits, and
 * compares in constant time. (With 4-digit PINs a hash does not stop anyone
 * who holds the image file; it keeps PINs out of casual view and out of logs.
 * The retry counter is what protects a PIN.)
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { PinRecord, PinRef, RetryCounter } from './card-state.js';

export const PIN_BLOCK_LENGTH = 8;
export const PIN_SALT_LENGTH = 16;
const PAD = 0xff;

/** The digits of a well-formed PIN block, or null (answer 6A80). */
export function parsePinBlock(block: Buffer, ref: PinRef): Buffer | null {
  if (block.length !== PIN_BLOCK_LENGTH) return null;
  let n = 0;
  while (n < block.length && block[n]! >= 0x30 && block[n]! <= 0x39) n++;
  for (let i = n; i < block.length; i++) if (block[i] !== PAD) return null;
  const [min, max] = ref === 'puk' ? [8, 8] : [4, 8];
  return n >= min && n <= max ? block.subarray(0, n) : null;
}

function pinHash(salt: Buffer, digits: Buffer): Buffer {
  return createHash('sha256').update('HG-PIN').update(salt).update(digits).digest();
}

/** A new record for these digits with a full counter. */
export function makePinRecord(digits: Buffer, salt: Buffer, max: number): PinRecord {
  const tries: RetryCounter = { left: max, max };
  return { salt, hash: pinHash(salt, digits), tries };
}

/** Constant-time comparison of the digits with the stored hash. */
export function pinMatches(record: PinRecord, digits: Buffer): boolean {
  return timingSafeEqual(pinHash(record.salt, digits), record.hash);
}
