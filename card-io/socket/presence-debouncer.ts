/**
 * A detect switch bounces: a card sliding in makes and breaks the contact a
 * few times within milliseconds. The debounced state changes only once the
 * raw level has been stable for `debounceMs`; a burst of edges is one
 * insertion or removal, reported with the time of its first edge (so the
 * "card absent within 100 ms of the edge" budget is measured from the edge).
 */

export interface PresenceChange {
  present: boolean;
  /** When the first raw edge of this change arrived (Date.now()). */
  edgeAt: number;
  /** When it was reported (Date.now()). */
  at: number;
}

export class PresenceDebouncer {
  private state: boolean;
  private level: boolean;
  private firstEdgeAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    initial: boolean,
    private readonly debounceMs: number,
    private readonly onChange: (change: PresenceChange) => void,
  ) {
    this.state = initial;
    this.level = initial;
  }

  get present(): boolean {
    return this.state;
  }

  /** One raw edge (bounces included). */
  edge(level: boolean): void {
    this.level = level;
    this.firstEdgeAt ??= Date.now();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.settle(), this.debounceMs);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private settle(): void {
    const edgeAt = this.firstEdgeAt ?? Date.now();
    this.firstEdgeAt = undefined;
    if (this.level === this.state) return;
    this.state = this.level;
    this.onChange({ present: this.state, edgeAt, at: Date.now() });
  }
}
