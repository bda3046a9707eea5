/**
 * One holder at a time, FIFO. The card queue serializes single APDUs; a
 * terminal's sequence (SELECT, VERIFY, SIGN ...) needs the whole card for
 * its duration, which is what this lock gives.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Wait for the lock; resolves with its release function (idempotent). */
  async acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const previous = this.tail;
    this.tail = previous.then(() => next);
    await previous;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        release();
      }
    };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
