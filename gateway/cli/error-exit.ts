/**
 * How `homegate` reports an error that ends a command: our own errors are all
 * CodedErrors with a message written for people, so the message is printed
 * alone; anything else is a bug and its stack is printed. The exit code
 * follows the family (README, "Exit codes"): 3 when this terminal's card
 * session is closed, 1 otherwise.
 */
import { CodedError } from '../../card-io/base/coded-error.js';
import { isCardLocked } from '../../card-io/access-card/access-card-error.js';

/** A command needed this terminal's card session and it was closed ("homegate terminal unlock" first). */
export const EXIT_CARD_LOCKED = 3;
export const EXIT_FAILED = 1;

export function errorExit(e: unknown): { exitCode: number; text: string } {
  if (e instanceof CodedError) {
    return { exitCode: isCardLocked(e) ? EXIT_CARD_LOCKED : EXIT_FAILED, text: `homegate: ${e.message}\n` };
  }
  return { exitCode: EXIT_FAILED, text: `homegate: ${(e as Error)?.stack ?? String(e)}\n` };
}
