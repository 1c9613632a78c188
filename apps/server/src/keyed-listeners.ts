/**
 * Listeners by key (a task, an account): `emit` hands a value to its own key's listeners only, so
 * its cost does not grow with the listeners of other keys. A key with no listener left is dropped.
 */
export class KeyedListeners<T> {
  private readonly byKey = new Map<string, Set<(value: T) => void>>();

  /** Adds `listener` to `key`'s; returns the call that removes it. */
  add(key: string, listener: (value: T) => void): () => void {
    let listening = this.byKey.get(key);
    if (!listening) this.byKey.set(key, (listening = new Set()));
    listening.add(listener);
    return () => {
      listening.delete(listener);
      if (listening.size === 0 && this.byKey.get(key) === listening) this.byKey.delete(key);
    };
  }

  emit(key: string, value: T): void {
    const listening = this.byKey.get(key);
    if (listening) for (const listener of [...listening]) listener(value);
  }

  /** Keys with a listener now. */
  get size(): number {
    return this.byKey.size;
  }

  /** Listeners now, of every key. */
  get listeners(): number {
    let n = 0;
    for (const listening of this.byKey.values()) n += listening.size;
    return n;
  }
}
