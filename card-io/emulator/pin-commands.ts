/**
 * VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER (ISO/IEC 7816-4
 * §11.5.6, §11.5.7, §11.5.10) for PIN1 (P2 81) and PIN2 (P2 82), with the
 * home card's rules from PROTOCOL.md:
 *
 * - only in the operational life cycle (`6985` before);
 * - PIN2 only after PIN1 in this card session (`6982`, no try counted);
 * - a malformed PIN block is `6A80` and never costs a try;
 * - every try goes through `countedCheck` (decrement and commit first).
 *
 * As ISO 7816-4 has it, a failed verification also resets that PIN's
 * security status: a wrong PIN1 closes the session's PIN1 state (and with it
 * any release), a wrong PIN2 withdraws the release.
 */
import { SW, wrongPin } from '../apdu/status-words.js';
import type { CommandApdu } from '../apdu/command-apdu.js';
import { ok, status, type AppletContext, type Reply } from './applet-context.js';
import { clearPin1, clearRelease, getCounter, LifeCycle, type PinRef } from './card-state.js';
import { countedCheck } from './counted-check.js';
import { makePinRecord, parsePinBlock, pinMatches, PIN_BLOCK_LENGTH, PIN_SALT_LENGTH } from './pin-block.js';

function pinRef(p2: number): Exclude<PinRef, 'puk'> | null {
  return p2 === 0x81 ? 'pin1' : p2 === 0x82 ? 'pin2' : null;
}

function isVerified(ctx: AppletContext, ref: 'pin1' | 'pin2'): boolean {
  return ref === 'pin1' ? ctx.session.pin1Verified : ctx.session.released;
}

function resetVerified(ctx: AppletContext, ref: 'pin1' | 'pin2'): void {
  if (ref === 'pin1') clearPin1(ctx.session);
  else clearRelease(ctx.session);
}

/** Common preconditions; a reply when one fails. */
function precheck(cmd: CommandApdu, ctx: AppletContext, allowedP1: number[]): Reply | 'pin1' | 'pin2' {
  const ref = pinRef(cmd.p2);
  if (ref === null || !allowedP1.includes(cmd.p1)) return status(SW.INCORRECT_P1P2);
  if (ctx.state.lifeCycle !== LifeCycle.Operational) return status(SW.CONDITIONS_NOT_SATISFIED);
  return ref;
}

/** Check `digits` against the PIN with a counted try; on failure reset its state. */
async function checkPin(ctx: AppletContext, ref: 'pin1' | 'pin2', digits: Buffer): Promise<Reply | null> {
  const record = ctx.state[ref];
  if (record === null) return status(SW.CONDITIONS_NOT_SATISFIED);
  const failure = await countedCheck(ctx, ref, () => pinMatches(record, digits));
  if (failure !== null) resetVerified(ctx, ref);
  return failure;
}

/** VERIFY: 00 20 00 81/82 (PIN block or empty for the status) and 00 20 FF 81/82 (reset). */
export async function verify(cmd: CommandApdu, ctx: AppletContext): Promise<Reply> {
  const ref = precheck(cmd, ctx, [0x00, 0xff]);
  if (typeof ref !== 'string') return ref;
  if (cmd.p1 === 0xff) {
    if (cmd.data.length !== 0) return status(SW.WRONG_LENGTH);
    resetVerified(ctx, ref);
    return ok();
  }
  if (cmd.data.length === 0) {
    if (isVerified(ctx, ref)) return ok();
    const { left } = getCounter(ctx.state, ref);
    return status(left === 0 ? SW.AUTH_METHOD_BLOCKED : wrongPin(left));
  }
  if (ref === 'pin2' && !ctx.session.pin1Verified) return status(SW.SECURITY_STATUS_NOT_SATISFIED);
  const digits = parsePinBlock(cmd.data, ref);
  if (digits === null) return status(SW.WRONG_DATA);
  const failure = await checkPin(ctx, ref, digits);
  if (failure !== null) return failure;
  if (ref === 'pin1') {
    ctx.session.pin1Verified = true;
  } else {
    clearRelease(ctx.session); // a new release starts without a verified market
    ctx.session.released = true;
  }
  return ok();
}

/** Split `first block ‖ second block`; null when the data is not two PIN blocks. */
function twoBlocks(data: Buffer): [Buffer, Buffer] | null {
  if (data.length !== 2 * PIN_BLOCK_LENGTH) return null;
  return [data.subarray(0, PIN_BLOCK_LENGTH), data.subarray(PIN_BLOCK_LENGTH)];
}

/** CHANGE REFERENCE DATA: 00 24 00 81/82, old PIN block ‖ new PIN block. */
export async function changeReferenceData(cmd: CommandApdu, ctx: AppletContext): Promise<Reply> {
  const ref = precheck(cmd, ctx, [0x00]);
  if (typeof ref !== 'string') return ref;
  if (ref === 'pin2' && !ctx.session.pin1Verified) return status(SW.SECURITY_STATUS_NOT_SATISFIED);
  const blocks = twoBlocks(cmd.data);
  const oldDigits = blocks && parsePinBlock(blocks[0], ref);
  const newDigits = blocks && parsePinBlock(blocks[1], ref);
  if (!oldDigits || !newDigits) return status(SW.WRONG_DATA);
  const failure = await checkPin(ctx, ref, oldDigits);
  if (failure !== null) return failure;
  const max = getCounter(ctx.state, ref).max;
  await ctx.commit({ ...ctx.state, [ref]: makePinRecord(newDigits, ctx.random(PIN_SALT_LENGTH), max) });
  return ok();
}

/** RESET RETRY COUNTER: 00 2C 00 81/82, PUK block ‖ new PIN block. */
export async function resetRetryCounter(cmd: CommandApdu, ctx: AppletContext): Promise<Reply> {
  const ref = precheck(cmd, ctx, [0x00]);
  if (typeof ref !== 'string') return ref;
  const blocks = twoBlocks(cmd.data);
  const pukDigits = blocks && parsePinBlock(blocks[0], 'puk');
  const newDigits = blocks && parsePinBlock(blocks[1], ref);
  if (!pukDigits || !newDigits) return status(SW.WRONG_DATA);
  const puk = ctx.state.puk;
  if (puk === null) return status(SW.CONDITIONS_NOT_SATISFIED);
  const failure = await countedCheck(ctx, 'puk', () => pinMatches(puk, pukDigits));
  if (failure !== null) return failure;
  const max = getCounter(ctx.state, ref).max;
  await ctx.commit({ ...ctx.state, [ref]: makePinRecord(newDigits, ctx.random(PIN_SALT_LENGTH), max) });
  return ok();
}
