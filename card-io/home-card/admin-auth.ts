/**
 * The cryptograms of mutual admin authentication (PROTOCOL.md "Admin
 * authentication"): HMAC-SHA256 (RFC 2104) under the 32-byte admin key K,
 * which never travels.
 *
 *   host cryptogram = HMAC(K, "HG-ADMIN-HOST" ‖ rc ‖ rh)
 *   card cryptogram = HMAC(K, "HG-ADMIN-CARD" ‖ rh ‖ rc)
 *
 * The distinct labels and the swapped order keep one side's cryptogram from
 * being replayed as the other's.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const ADMIN_KEY_LENGTH = 32;
const HOST_LABEL = Buffer.from('HG-ADMIN-HOST', 'ascii');
const CARD_LABEL = Buffer.from('HG-ADMIN-CARD', 'ascii');

export function hostCryptogram(adminKey: Buffer, cardChallenge: Buffer, hostChallenge: Buffer): Buffer {
  return createHmac('sha256', adminKey).update(HOST_LABEL).update(cardChallenge).update(hostChallenge).digest();
}

export function expectedCardCryptogram(adminKey: Buffer, hostChallenge: Buffer, cardChallenge: Buffer): Buffer {
  return createHmac('sha256', adminKey).update(CARD_LABEL).update(hostChallenge).update(cardChallenge).digest();
}

/**
 * Constant-time comparison (crypto.timingSafeEqual), so response timing tells
 * an impostor card nothing about how many bytes it got right. The length
 * check leaks only the length, which is public (32).
 */
export function cardCryptogramMatches(expected: Buffer, received: Buffer): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}
