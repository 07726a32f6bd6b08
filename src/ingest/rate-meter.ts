/**
 * A rate over a sliding time window from cumulative counters (pure; time is passed in). ffmpeg reports
 * averages since start, which hide a camera that slows down; the difference of two recent samples does not.
 */
export class RateMeter {
  private readonly samples: Array<{ atMs: number; total: number }> = [];

  constructor(private readonly windowMs: number) {}

  /** Records a cumulative total seen at `atMs`. A total that goes down (a new ffmpeg) starts over. */
  record(atMs: number, total: number): void {
    const last = this.samples.at(-1);
    if (last && total < last.total) this.samples.length = 0;
    this.samples.push({ atMs, total });
    while (this.samples.length > 2 && (this.samples[1]?.atMs ?? atMs) <= atMs - this.windowMs)
      this.samples.shift();
  }

  /**
   * Units per second over the window, or null until samples span half of it: a new ffmpeg reads the frames
   * its camera buffered in a burst, and a rate over its first second reads high.
   */
  perSecond(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.atMs - first.atMs < this.windowMs / 2) return null;
    return ((last.total - first.total) * 1000) / (last.atMs - first.atMs);
  }

  reset(): void {
    this.samples.length = 0;
  }
}
