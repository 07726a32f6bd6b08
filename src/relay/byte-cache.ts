/**
 * Files kept in memory for a while, bounded in bytes: when full, the oldest entries go first (a Map keeps
 * insertion order, and for live HLS the oldest segment is the one nobody will ask for again). An entry is
 * dropped once its time is up, whether or not the cache is full. `nowMs` is injectable for tests.
 */
export class ByteCache {
  private readonly entries = new Map<string, { body: Buffer; expiresAtMs: number }>();
  private totalBytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  get(key: string): Buffer | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.expiresAtMs > this.nowMs()) return entry.body;
    this.delete(key);
    return null;
  }

  set(key: string, body: Buffer, ttlMs: number): void {
    this.delete(key);
    if (body.length > this.maxBytes) return;
    this.entries.set(key, { body, expiresAtMs: this.nowMs() + ttlMs });
    this.totalBytes += body.length;
    const now = this.nowMs();
    for (const [oldest, entry] of this.entries) {
      if (this.totalBytes <= this.maxBytes && entry.expiresAtMs > now) break;
      this.delete(oldest);
    }
  }

  get sizeBytes(): number {
    return this.totalBytes;
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalBytes -= entry.body.length;
  }
}
