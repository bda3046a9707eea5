/**
 * The anti-tearing try counter shared by PIN1, PIN2, the PUK and the admin
 * key (PROTOCOL.md, "Anti-tearing"): the try is counted by decrementing the
 * counter and committing the image BEFORE the comparison; success restores the
 * counter with a second commit. Power lost at any point therefore costs a try
 * at worst and never yields a free one.
 */
import { SW, wrongPin } from '../apdu/status-words.js';
import { status, type AppletContext, type Reply } from './applet-context.js';
import { getCounter, withCounter, type CounterRef } from './card-state.js';

/**
 * Count one try of `ref` and run `matches`. Resolves with null when it matched
 * (counter restored), or with the reply for the failure: `6983` when already
 * blocked, `63Cx` with the tries left after this one.
 */
export async function countedCheck(ctx: AppletContext, ref: CounterRef, matches: () => boolean): Promise<Reply | null> {
  const { left, max } = getCounter(ctx.state, ref);
  if (left === 0) return status(SW.AUTH_METHOD_BLOCKED);
  await ctx.commit(withCounter(ctx.state, ref, left - 1));
  const matched = matches();
  if (!matched) {
    ctx.logger.info({ ref, triesLeft: left - 1 }, 'Wrong reference data; try counted');
    return status(wrongPin(left - 1));
  }
  await ctx.commit(withCounter(ctx.state, ref, max));
  return null;
}
