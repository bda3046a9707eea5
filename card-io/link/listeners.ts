/** A tiny typed listener set: no EventEmitter string keys, unsubscribe by return value. */
export class Listeners<T> {
  private readonly set = new Set<(value: T) => void>();

  add(listener: (value: T) => void): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }

  emit(value: T): void {
    for (const l of [...this.set]) l(value);
  }

  get size(): number {
    return this.set.size;
  }
}
