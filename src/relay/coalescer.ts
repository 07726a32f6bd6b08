/**
 * One run per key at a time: callers asking for the same key while it runs share its promise, so a wall
 * of viewers costs one upstream fetch, one decode or one start, not one each.
 */
export class Coalescer<T> {
  private readonly running = new Map<string, Promise<T>>();

  run(key: string, start: () => Promise<T>): Promise<T> {
    let pending = this.running.get(key);
    if (!pending) {
      pending = start().finally(() => this.running.delete(key));
      this.running.set(key, pending);
    }
    return pending;
  }
}
