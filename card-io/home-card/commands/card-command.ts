/**
 * One home-card command as the driver dispatches it: the name logs and errors
 * say, how its APDU is built from the arguments, and how the answer is parsed.
 * The parser is handed the build arguments too, for the answers that depend on
 * them (VERIFY's 63Cx names the PIN it was about).
 */
import type { CommandApdu, ResponseApdu } from '../../apdu/index.js';

export interface CardCommand<A extends unknown[], R> {
  readonly name: string;
  build(...args: A): CommandApdu;
  parse(response: ResponseApdu, args: A): R;
}

/** Typed from `build`: `parse` gets the same arguments as a tuple, or ignores them. */
export function cardCommand<A extends unknown[], R>(
  name: string,
  build: (...args: A) => CommandApdu,
  parse: (response: ResponseApdu, args: NoInfer<A>) => R,
): CardCommand<A, R> {
  return { name, build, parse };
}
