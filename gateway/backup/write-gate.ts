/**
 * Lets a backup's snapshot see the gateway's money state between operations,
 * never in the middle of one (data-snapshot.ts): pay, cancel, top-up, the
 * catch-up from the card's log and the presentation of decisions pass the
 * gate together (`shared`); a snapshot waits until none is in flight and
 * holds new ones back while it copies (`exclusive`).
 *
 * Readers are never held back by a waiting snapshot, only by a running one:
 * an operation that starts another gated operation inside itself would
 * otherwise wait for a snapshot that waits for it. A household's trickle of
 * payments leaves the snapshot plenty of quiet moments.
 */
export class WriteGate {
  private active = 0;
  private snapshotting: Promise<void> | undefined;
  private idle: Array<() => void> = [];

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.snapshotting) await this.snapshotting;
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      if (this.active === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    // Wait for a quiet moment; the check and the claim below happen in one turn of the event loop.
    while (this.snapshotting || this.active > 0) {
      if (this.snapshotting) await this.snapshotting;
      else await new Promise<void>((r) => this.idle.push(r));
    }
    let done!: () => void;
    this.snapshotting = new Promise<void>((r) => (done = r));
    try {
      return await fn();
    } finally {
      this.snapshotting = undefined;
      done();
    }
  }

  /** `target` whose `methods` pass the gate together. */
  wrap<T extends object>(target: T, methods: ReadonlyArray<keyof T & string>): T {
    return new Proxy(target, {
      get: (obj, name, receiver) => {
        const value = Reflect.get(obj, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const bound = (value as (...a: unknown[]) => unknown).bind(obj);
        if (!(methods as readonly (string | symbol)[]).includes(name)) return bound;
        return (...args: unknown[]) => this.shared(async () => bound(...args));
      },
    });
  }
}
