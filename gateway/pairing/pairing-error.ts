/**
 * The one error class of pairing, both sides. The gateway answers every
 * refusal of a code with the same `pairing-refused` (wrong, expired, used or
 * unknown look alike from outside, so a guesser learns nothing), and
 * `pairing-throttled` while too many attempts failed.
 */
import { CodedError } from '../../card-io/base/coded-error.js';

export type PairingErrorCode =
  /** Gateway: the code is unknown, expired, used, or the proof is wrong. */
  | 'pairing-refused'
  /** Gateway: too many failed attempts; wait and ask for a new code. */
  | 'pairing-throttled'
  /** Terminal: the text is not a pairing code. */
  | 'code-malformed'
  /** Terminal: the gateway's household CA is not the one the code names: not our gateway. */
  | 'gateway-not-pinned'
  /** Terminal: no gateway URL in the code or on the command line, and none found on the LAN. */
  | 'gateway-not-found'
  /** Terminal: the gateway answered something else than the API says. */
  | 'bad-answer';

export class PairingError extends CodedError<PairingErrorCode> {
  override readonly name = 'PairingError';
  readonly family = 'pairing';
  constructor(code: PairingErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, context, options);
  }
}
