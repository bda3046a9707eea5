/**
 * Where the applet keeps its persistent state. The applet calls `commit`
 * before it answers any state-changing command and answers `6581` (memory
 * failure) when the commit rejects, keeping its previous state.
 *
 * Two implementations: the image file (`card-image.ts`) and memory, the
 * latter with a fault switch so tests can pull the plug on a write.
 */
import { CardError, CardErrorCode } from '../errors.js';
import type { CardState } from './card-state.js';

export interface CardStore {
  /** The last committed state. */
  readonly state: CardState;
  /**
   * Make `next` the committed state. Resolves only once it is durable (it
   * survives power loss); on rejection the committed state is unchanged.
   */
  commit(next: CardState): Promise<void>;
}

export interface MemoryCardStore extends CardStore {
  /** How many commits so far succeeded. */
  readonly commits: number;
  /** While true, every commit rejects as a failing write would. */
  failCommits: boolean;
}

export function createMemoryCardStore(initial: CardState): MemoryCardStore {
  let state = initial;
  let commits = 0;
  return {
    failCommits: false,
    get state() {
      return state;
    },
    get commits() {
      return commits;
    },
    async commit(next: CardState): Promise<void> {
      if (this.failCommits) {
        throw new CardError(CardErrorCode.ImageWriteFailed, 'Injected write failure');
      }
      state = next;
      commits++;
    },
  };
}
