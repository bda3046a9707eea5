/**
 * Coalesces bursts of changes into few publishes: the first change after a
 * quiet period is published at once (leading edge), later changes within
 * `intervalMs` are folded into one publish at the end of the window
 * (trailing edge). However fast an input flaps, at most one publish per
 * window, plus the leading one: a dashboard sees the latest state within
 * `intervalMs` and the broker is not flooded.
 */
export class StateCoalescer {
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;
  #stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly flush: () => void,
  ) {}

  /** Something changed. */
  request(): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) {
      this.#dirty = true;
      return;
    }
    this.flush();
    this.#arm();
  }

  /** Publishes at once what is pending (a `refresh`, a reconnect) and restarts the window. */
  now(): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dirty = false;
    this.flush();
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.intervalMs <= 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#dirty) return;
      this.#dirty = false;
      this.flush();
      this.#arm();
    }, this.intervalMs);
    this.#timer.unref();
  }
}
