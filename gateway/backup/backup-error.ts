/** The one error class of backup and restore. Messages never carry the passphrase. */
import { CodedError } from '../../card-io/base/coded-error.js';

export type BackupErrorCode =
  /** The passphrase is wrong, or the file was changed (AES-GCM's tag does not verify). */
  | 'wrong-passphrase'
  /** Not a homegate backup, a version this build does not know, or a path leaving the data directory. */
  | 'invalid'
  /** Restore refuses a data directory that holds anything (without --replace). */
  | 'target-not-empty'
  /** restore --replace while a gateway answers on the data directory's admin socket. */
  | 'gateway-running'
  | 'too-large'
  /** A passphrase too short, or its confirmation differs. */
  | 'passphrase';

export class BackupError extends CodedError<BackupErrorCode> {
  override readonly name = 'BackupError';
  readonly family = 'backup';
  constructor(code: BackupErrorCode, message: string, context: Record<string, unknown> = {}) {
    super(code, message, context);
  }
}
