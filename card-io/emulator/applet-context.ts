/**
 * What a command handler gets: the committed card state, the card session,
 * a way to commit, randomness and a logger. A handler never throws for a
 * condition the card reports; it returns the status word. The one exception
 * is a failed commit, which `commit` throws as CardError(ImageWriteFailed) and
 * the applet answers `6581` with the state left as last committed.
 */
import { SW } from '../apdu/status-words.js';
import type { CommandApdu } from '../apdu/command-apdu.js';
import { CardError, CardErrorCode } from '../errors.js';
import type { Logger } from '../base/log.js';
import type { CardSession, CardState } from './card-state.js';

export interface Reply {
  readonly sw: number;
  readonly data?: Buffer;
}

export interface AppletContext {
  /** The last committed state. */
  readonly state: CardState;
  readonly session: CardSession;
  /** Commit `next` durably; it becomes `state`. Throws CardError(ImageWriteFailed). */
  commit(next: CardState): Promise<void>;
  random(n: number): Buffer;
  readonly logger: Logger;
}

export type CommandHandler = (cmd: CommandApdu, ctx: AppletContext) => Promise<Reply> | Reply;

export function ok(data?: Buffer): Reply {
  return data === undefined ? { sw: SW.OK } : { sw: SW.OK, data };
}

export function status(sw: number, data?: Buffer): Reply {
  return data === undefined ? { sw } : { sw, data };
}

export function writeFailed(cause: unknown): CardError {
  return new CardError(CardErrorCode.ImageWriteFailed, 'Card image write failed', {}, { cause });
}

/** P1 P2 as one number, for the `p1p2 === 0x9e9a` style checks. */
export function p1p2(cmd: CommandApdu): number {
  return (cmd.p1 << 8) | cmd.p2;
}
