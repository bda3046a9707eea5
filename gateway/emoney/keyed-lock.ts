/**
 * Runs work one at a time per key (here: per market and order), so that two
 * pay requests for the same order never reach the card side by side: the
 * second starts only once the first is decided and archived, and then finds
 * the first decision. Different keys run concurrently. In memory: the card
 * refuses a second PAY for the same order (PROTOCOL.md, 6A89) when the
 * gateway restarted in between.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      done();
      // The last one out removes the key, so the map does not grow with every order ever paid.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
