/**
 * GET CHALLENGE (ISO/IEC 7816-4 §11.5.3) and EXTERNAL AUTHENTICATE in its
 * mutual form (§11.5.4), the home card's admin authentication (PROTOCOL.md,
 * "Admin authentication"):
 *
 *   host cryptogram = HMAC-SHA256(K, "HG-ADMIN-HOST" ‖ rc ‖ rh)
 *   card cryptogram = HMAC-SHA256(K, "HG-ADMIN-CARD" ‖ rh ‖ rc)
 *
 * The card challenge is used once whatever the outcome, a wrong host
 * cryptogram costs an admin try like a wrong PIN (counted before the check),
 * and the comparison is constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SW } from '../apdu/status-words.js';
import type { CommandApdu } from '../apdu/command-apdu.js';
import { ok, p1p2, status, type AppletContext, type Reply } from './applet-context.js';
import { countedCheck } from './counted-check.js';

export const CHALLENGE_LENGTH = 16;
const CRYPTOGRAM_LENGTH = 32;

export function adminCryptogram(key: Buffer, label: 'HG-ADMIN-HOST' | 'HG-ADMIN-CARD', a: Buffer, b: Buffer): Buffer {
  return createHmac('sha256', key).update(label, 'ascii').update(a).update(b).digest();
}

/** GET CHALLENGE: 00 84 00 00, Le 10. */
export function getChallenge(cmd: CommandApdu, ctx: AppletContext): Reply {
  if (p1p2(cmd) !== 0x0000) return status(SW.INCORRECT_P1P2);
  if (cmd.data.length !== 0 || cmd.ne !== CHALLENGE_LENGTH) return status(SW.WRONG_LENGTH);
  const challenge = ctx.random(CHALLENGE_LENGTH);
  ctx.session.challenge = challenge;
  return ok(Buffer.from(challenge));
}

/** EXTERNAL AUTHENTICATE: 00 82 00 01, rh (16) ‖ host cryptogram (32). */
export async function externalAuthenticate(cmd: CommandApdu, ctx: AppletContext): Promise<Reply> {
  if (p1p2(cmd) !== 0x0001) return status(SW.INCORRECT_P1P2);
  if (cmd.data.length !== CHALLENGE_LENGTH + CRYPTOGRAM_LENGTH) return status(SW.WRONG_LENGTH);
  const rc = ctx.session.challenge;
  ctx.session.challenge = null;
  if (rc === null) return status(SW.CONDITIONS_NOT_SATISFIED);
  ctx.session.adminAuthenticated = false;
  const rh = cmd.data.subarray(0, CHALLENGE_LENGTH);
  const hostCryptogram = cmd.data.subarray(CHALLENGE_LENGTH);
  const key = ctx.state.adminKey;
  const failure = await countedCheck(ctx, 'admin', () => timingSafeEqual(adminCryptogram(key, 'HG-ADMIN-HOST', rc, rh), hostCryptogram));
  if (failure !== null) return failure;
  ctx.session.adminAuthenticated = true;
  return ok(adminCryptogram(key, 'HG-ADMIN-CARD', rh, rc));
}
