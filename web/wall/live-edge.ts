/**
 * Whether a tile has fallen so far behind the live edge that it should jump back to it. hls.js 1.7 catches
 * up by playing faster only while it is less than about two target latencies plus a segment behind
 * (latency-controller.ts); a tile that starts further back, after a stall or a slow first fetch, would stay
 * there for days. A jump costs a visible skip, so it waits until the tile has been behind for a while.
 */
export class LiveEdgeWatch {
  private behindSinceMs: number | null = null;

  constructor(
    /** Latency beyond hls.js's target that counts as behind. */
    private readonly slackSec = 1.5,
    /** How long a tile must stay behind before it jumps. */
    private readonly patienceMs = 4000,
  ) {}

  /** Called every second with hls.js's `latency` and `targetLatency`; true: seek to `liveSyncPosition`. */
  shouldJump(latencySec: number | null, targetLatencySec: number | null, nowMs: number): boolean {
    const behind =
      latencySec !== null &&
      targetLatencySec !== null &&
      Number.isFinite(latencySec) &&
      latencySec > targetLatencySec + this.slackSec;
    if (!behind) {
      this.behindSinceMs = null;
      return false;
    }
    this.behindSinceMs ??= nowMs;
    if (nowMs - this.behindSinceMs < this.patienceMs) return false;
    this.behindSinceMs = null;
    return true;
  }
}
