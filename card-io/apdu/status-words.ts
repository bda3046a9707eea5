/**
 * Status words (ISO/IEC 7816-4:2020 §5.6, tables 5 and 6) used by the home card.
 */
export const SW = {
  OK: 0x9000,
  /** 6300: verification failed (used by VERIFY CERTIFICATE, with a reason byte as data). */
  VERIFICATION_FAILED: 0x6300,
  /** 63Cx: verification failed, x tries left. Use `wrongPin(x)`. */
  WRONG_PIN_BASE: 0x63c0,
  /** 6581: memory failure (the image could not be written). */
  MEMORY_FAILURE: 0x6581,
  /** 6910: purse, insufficient funds (proprietary, PROTOCOL.md "Purse status words"). */
  INSUFFICIENT_FUNDS: 0x6910,
  /** 6911: purse, over a limit (per payment, per day, maximum balance). */
  LIMIT_EXCEEDED: 0x6911,
  WRONG_LENGTH: 0x6700,
  SECURITY_STATUS_NOT_SATISFIED: 0x6982,
  AUTH_METHOD_BLOCKED: 0x6983,
  REFERENCE_DATA_NOT_USABLE: 0x6984,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  WRONG_DATA: 0x6a80,
  FUNCTION_NOT_SUPPORTED: 0x6a81,
  FILE_NOT_FOUND: 0x6a82,
  /** 6A83: record not found (READ RECORD). */
  RECORD_NOT_FOUND: 0x6a83,
  NOT_ENOUGH_MEMORY: 0x6a84,
  INCORRECT_P1P2: 0x6a86,
  REFERENCED_DATA_NOT_FOUND: 0x6a88,
  /** 6A89: already exists (PAY: this card already decided a payment for this market and order). */
  ALREADY_EXISTS: 0x6a89,
  WRONG_P1P2: 0x6b00,
  /** 6Cxx: wrong Le field; xx gives the exact length available. */
  WRONG_LE_BASE: 0x6c00,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  NO_PRECISE_DIAGNOSIS: 0x6f00,
} as const;

export function wrongPin(triesLeft: number): number {
  return SW.WRONG_PIN_BASE | Math.max(0, Math.min(15, triesLeft));
}

export function isWrongPin(sw: number): boolean {
  return (sw & 0xfff0) === SW.WRONG_PIN_BASE;
}

export function swHex(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}
