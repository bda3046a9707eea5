/**
 * What can stop `homegate provision device` and `homegate gateway rollback`:
 * one coded error, so the CLI maps it once (error-exit.ts) and tests branch
 * on the code, never on the message.
 */
import { CodedError } from '../../card-io/base/coded-error.js';

export type DeviceErrorCode =
  /** An answer or option is not usable (architecture, target, card device, household files). */
  | 'invalid'
  /** The Node.js runtime for the architecture is not available at the version the project needs. */
  | 'no-runtime'
  /** A program the flashing needs (npm, tar, ssh) failed or is missing. */
  | 'tool-failed'
  /** The target holds no release to go back to. */
  | 'no-previous-release';

export class DeviceError extends CodedError<DeviceErrorCode> {
  override readonly name = 'DeviceError';
  readonly family = 'device';
}
