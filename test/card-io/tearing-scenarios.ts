/**
 * The state-changing commands of the tearing test, as raw command APDUs so
 * the very same bytes go to the emulator process and to an in-process applet.
 * Each scenario names the session it needs (`prep`) and, for a wrong try, the
 * counter the try must cost (PROTOCOL.md, "Anti-tearing").
 */
import { createHash, randomBytes } from 'node:crypto';
import { encodeCommandApdu, type CommandApdu } from '../../card-io/apdu/command-apdu.js';
import { parseResponseApdu } from '../../card-io/apdu/response-apdu.js';
import type { CardState, CounterRef } from '../../card-io/emulator/card-state.js';
import { hostCryptogram } from '../../card-io/home-card/admin-auth.js';
import * as c from '../../card-io/home-card/commands/index.js';
import type { SeededRandom } from '../helpers/seeded-random.js';

/** Raw command APDU in, raw response APDU out: a T=1 interface device or an applet. */
export type Send = (apdu: Buffer) => Promise<Buffer>;

/** The card's PINs between iterations (restoreCanonical puts them back). */
export const PINS = { pin1: '1234', pin2: '5678', puk: '87654321' } as const;
const NEW_PIN = '2468';
const UNBLOCK_PIN = '13579';
const WRONG_PIN = '0000';
const WRONG_PUK = '00000000';
/** Every value a scenario may store or try, so a stored PIN can be named. */
export const KNOWN_PINS = [PINS.pin1, PINS.pin2, PINS.puk, NEW_PIN, UNBLOCK_PIN, WRONG_PIN, WRONG_PUK];

/** What must happen in the card session before the command: SELECT and then ... */
export type Prep = 'select' | 'pin1' | 'challenge' | 'admin';

export interface Scenario {
  readonly name: string;
  readonly prep: Prep;
  readonly apdu: Buffer;
  /** The try counter the command counts, and whether the try is wrong (PROTOCOL.md, "Anti-tearing"). */
  readonly counted?: { readonly ref: CounterRef; readonly wrong: boolean };
}

const bytes = (apdu: CommandApdu): Buffer => encodeCommandApdu(apdu);

async function expectOk(send: Send, apdu: Buffer, what: string): Promise<Buffer> {
  const r = parseResponseApdu(await send(apdu));
  if (r.sw !== 0x9000) throw new Error(`${what} answered ${r.sw.toString(16)}`);
  return Buffer.from(r.data);
}

/** The mutual admin handshake (PROTOCOL.md, "Admin authentication"). */
export async function adminAuth(send: Send, adminKey: Buffer): Promise<void> {
  const rc = await expectOk(send, bytes(c.buildGetChallenge()), 'GET CHALLENGE');
  const rh = randomBytes(c.HOST_CHALLENGE_LENGTH);
  await expectOk(send, bytes(c.buildExternalAuthenticate(rh, hostCryptogram(adminKey, rc, rh))), 'EXTERNAL AUTHENTICATE');
}

export async function runPrep(send: Send, prep: Prep, adminKey: Buffer): Promise<void> {
  await expectOk(send, bytes(c.buildSelect()), 'SELECT');
  if (prep === 'pin1') await expectOk(send, bytes(c.buildVerifyPin('PIN1', PINS.pin1)), 'VERIFY PIN1');
  if (prep === 'challenge') await expectOk(send, bytes(c.buildGetChallenge()), 'GET CHALLENGE');
  if (prep === 'admin') await adminAuth(send, adminKey);
}

export function fingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

/** One random scenario; `anchors` are two CA certificates the test adds and removes. */
export function pickScenario(rnd: SeededRandom, state: CardState, anchors: readonly Buffer[]): Scenario {
  const all: Array<() => Scenario> = [
    () => ({ name: 'VERIFY PIN1, wrong', prep: 'select', apdu: bytes(c.buildVerifyPin('PIN1', WRONG_PIN)), counted: { ref: 'pin1', wrong: true } }),
    () => ({ name: 'VERIFY PIN2, wrong', prep: 'pin1', apdu: bytes(c.buildVerifyPin('PIN2', WRONG_PIN)), counted: { ref: 'pin2', wrong: true } }),
    () => ({ name: 'VERIFY PIN1, right', prep: 'select', apdu: bytes(c.buildVerifyPin('PIN1', PINS.pin1)), counted: { ref: 'pin1', wrong: false } }),
    () => ({
      name: 'CHANGE REFERENCE DATA PIN1',
      prep: 'select',
      apdu: bytes(c.buildChangeReferenceData('PIN1', PINS.pin1, NEW_PIN)),
      counted: { ref: 'pin1', wrong: false },
    }),
    () => ({
      name: 'CHANGE REFERENCE DATA PIN2, wrong old PIN',
      prep: 'pin1',
      apdu: bytes(c.buildChangeReferenceData('PIN2', WRONG_PIN, NEW_PIN)),
      counted: { ref: 'pin2', wrong: true },
    }),
    () => ({
      name: 'RESET RETRY COUNTER PIN1',
      prep: 'select',
      apdu: bytes(c.buildResetRetryCounter('PIN1', PINS.puk, UNBLOCK_PIN)),
      counted: { ref: 'puk', wrong: false },
    }),
    () => ({
      name: 'RESET RETRY COUNTER PIN2, wrong PUK',
      prep: 'select',
      apdu: bytes(c.buildResetRetryCounter('PIN2', WRONG_PUK, UNBLOCK_PIN)),
      counted: { ref: 'puk', wrong: true },
    }),
    () => ({
      name: 'EXTERNAL AUTHENTICATE, wrong cryptogram',
      prep: 'challenge',
      apdu: bytes(c.buildExternalAuthenticate(randomBytes(c.HOST_CHALLENGE_LENGTH), randomBytes(c.CRYPTOGRAM_LENGTH))),
      counted: { ref: 'admin', wrong: true },
    }),
    () => {
      const anchor = rnd.pick(anchors);
      const fp = fingerprint(anchor);
      const present = state.anchors.some((a) => fingerprint(a) === fp);
      return present
        ? { name: 'PUT DATA DF21 (remove a trust anchor)', prep: 'admin', apdu: bytes(c.buildRemoveTrustAnchor(fp)) }
        : { name: 'PUT DATA DF20 (add a trust anchor)', prep: 'admin', apdu: bytes(c.buildAddTrustAnchor(anchor)) };
    },
  ];
  return rnd.pick(all)();
}

/**
 * Put the PINs back to PINS with enough tries left, so every scenario can run
 * next: RESET RETRY COUNTER with the right PUK sets a PIN and restores the PIN
 * and PUK counters; a successful admin handshake restores the admin counter.
 */
export async function restoreCanonical(send: Send, state: CardState, adminKey: Buffer, pinOf: (ref: 'pin1' | 'pin2') => string): Promise<void> {
  await runPrep(send, 'select', adminKey);
  const low = (ref: CounterRef, min: number) => (ref === 'admin' ? state.adminTries.left : state[ref]!.tries.left) < min;
  if (pinOf('pin1') !== PINS.pin1 || low('pin1', 2) || low('puk', 5)) {
    await expectOk(send, bytes(c.buildResetRetryCounter('PIN1', PINS.puk, PINS.pin1)), 'RESET RETRY COUNTER PIN1');
  }
  if (pinOf('pin2') !== PINS.pin2 || low('pin2', 2)) {
    await expectOk(send, bytes(c.buildResetRetryCounter('PIN2', PINS.puk, PINS.pin2)), 'RESET RETRY COUNTER PIN2');
  }
  if (low('admin', 5)) await adminAuth(send, adminKey);
}
