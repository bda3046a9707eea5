/**
 * A CardService over a card in memory (the reference applet driven through
 * HomeCard): one holder at a time like the real service, no line, no
 * reconnects. `absent` makes it answer like a gateway without its card.
 */
import type { HomeCard } from '../../../card-io/home-card/home-card.js';
import type { CardService } from '../../../gateway/card/card-service.js';
import { Mutex } from '../../../gateway/card/mutex.js';
import { ApiError } from '../../../gateway/terminal-api/api-error.js';

export interface FakeCardService {
  /** What the gateway code is given. */
  service: CardService;
  /** True: every use answers 503 card-absent, as the real service does without a card. */
  absent: boolean;
  /** Times the card was lent or used exclusively. */
  uses: number;
  /** Whether someone holds the card right now. */
  held(): boolean;
  /** The card was reset (power cycle): session holders are told, as the real service does. */
  reset(): void;
}

export function fakeCardService(card: HomeCard, id: { cardId: string; certificate: Buffer }): FakeCardService {
  const mutex = new Mutex();
  const listeners = new Set<() => void>();
  let holding = 0;
  const f: FakeCardService = {
    absent: false,
    uses: 0,
    held: () => holding > 0,
    reset: () => {
      for (const l of listeners) l();
    },
    service: undefined as unknown as CardService,
  };
  const take = async () => {
    const release = await mutex.acquire();
    if (f.absent) {
      release();
      throw new ApiError(503, 'card-absent', 'The home card is not available');
    }
    f.uses++;
    holding++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      holding--;
      release();
    };
  };
  const service = {
    get cardId() {
      return f.absent ? undefined : id.cardId;
    },
    get certificate() {
      return f.absent ? undefined : id.certificate;
    },
    onReset(l: () => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    async exclusive<T>(fn: (c: HomeCard) => Promise<T>): Promise<T> {
      const release = await take();
      try {
        return await fn(card);
      } finally {
        release();
      }
    },
    async lease() {
      return { card, release: await take() };
    },
  };
  f.service = service as unknown as CardService;
  return f;
}
