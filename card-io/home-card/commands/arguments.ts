/**
 * Argument checks for command builders. They fail with CardError(InvalidArgument)
 * before anything is sent, and name the argument and its length only: a
 * builder's argument may be secret (a key, a PIN block), so its value is never
 * echoed.
 */
import { CardError, CardErrorCode } from '../../errors.js';

export interface LengthRule {
  /** Exact length in bytes. */
  length?: number;
  /** Minimum length in bytes (default 1: an empty value is never meaningful here). */
  min?: number;
  /** Maximum length in bytes. */
  max?: number;
}

export function requireBytes(value: unknown, what: string, rule: LengthRule = {}): Buffer {
  if (!(value instanceof Uint8Array)) {
    throw new CardError(CardErrorCode.InvalidArgument, `${what} must be a Buffer`, { argument: what });
  }
  const n = value.length;
  const min = rule.length ?? rule.min ?? 1;
  const max = rule.length ?? rule.max ?? Number.MAX_SAFE_INTEGER;
  if (n < min || n > max) {
    const expected = rule.length !== undefined ? `${rule.length} bytes` : `${min} to ${max} bytes`;
    throw new CardError(CardErrorCode.InvalidArgument, `${what} must be ${expected}`, { argument: what, length: n });
  }
  return Buffer.from(value);
}

/** A SHA-256 fingerprint given as 64 hex digits (either case). */
export function requireFingerprintHex(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{64}$/.test(value)) {
    throw new CardError(CardErrorCode.InvalidArgument, `${what} must be 64 hex digits (SHA-256)`, { argument: what });
  }
  return Buffer.from(value, 'hex');
}
