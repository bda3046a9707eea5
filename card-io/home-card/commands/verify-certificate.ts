/**
 * PERFORM SECURITY OPERATION: VERIFY CERTIFICATE (ISO/IEC 7816-8): 00 2A 00 BE Lc
 * time(8) ‖ cert DER ‖ cert DER … (leaf first) Le. Answers SHA-256 of the leaf.
 * Rejection is SW 6300 with one reason byte (mapped in status-error.ts).
 *
 * Time: 8 bytes, unsigned big-endian Unix seconds (PROTOCOL.md "Encodings");
 * the card has no clock. Certificates make the data longer than 255 bytes, so
 * the APDU is extended (§5.1 case 4E), chosen by encodeCommandApdu.
 * The chain length limit (4) is the card's rule, and the card enforces it.
 */
import { MAX_SHORT_NE, commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { CardError, CardErrorCode } from '../../errors.js';
import { checkStatus } from '../status-error.js';
import { requireBytes } from './arguments.js';
import { SHA256_LENGTH, malformedResponse } from './data-objects.js';

export const VERIFY_CERTIFICATE = 'VERIFY CERTIFICATE';

/** Date → 8-byte big-endian Unix seconds (the fraction of a second is dropped). */
export function encodeCardTime(at: Date): Buffer {
  const ms = at instanceof Date ? at.getTime() : Number.NaN;
  if (!Number.isFinite(ms) || ms < 0) {
    throw new CardError(CardErrorCode.InvalidArgument, 'Time must be a valid Date after 1970', { argument: 'at' });
  }
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(Math.floor(ms / 1000)));
  return out;
}

export function buildVerifyCertificate(chainDer: readonly Buffer[], at: Date): CommandApdu {
  if (!Array.isArray(chainDer) || chainDer.length === 0) {
    throw new CardError(CardErrorCode.InvalidArgument, 'Certificate chain must hold at least the leaf', {
      argument: 'chainDer',
    });
  }
  const certificates = chainDer.map((der, i) => requireBytes(der, `certificate ${i}`));
  const data = Buffer.concat([encodeCardTime(at), ...certificates]);
  return commandApdu(0x00, 0x2a, 0x00, 0xbe, data, MAX_SHORT_NE);
}

/** Returns the leaf's SHA-256 fingerprint as 64 lower-case hex digits. */
export function parseVerifyCertificate(response: ResponseApdu): string {
  checkStatus(response, { command: VERIFY_CERTIFICATE });
  if (response.data.length !== SHA256_LENGTH) {
    throw malformedResponse(VERIFY_CERTIFICATE, 'leaf fingerprint', response.data.length);
  }
  return response.data.toString('hex');
}
