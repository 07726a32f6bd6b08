import { describe, expect, it } from 'vitest';
import { LiveEdgeWatch } from '../../web/wall/live-edge.js';

describe("the wall's live-edge watch", () => {
  it('jumps a tile that stays well behind for the patience period, once, and not one that only dips', () => {
    const watch = new LiveEdgeWatch(1.5, 4000);
    // 0.9 s behind a 0.6 s target: within the slack, never a jump.
    for (let t = 0; t <= 10_000; t += 1000) expect(watch.shouldJump(0.9, 0.6, t)).toBe(false);
    // 2.7 s behind: waits 4 s, then jumps, then starts counting again.
    const jumps = [11, 12, 13, 14, 15, 16].map((s) => watch.shouldJump(2.7, 0.6, s * 1000));
    expect(jumps).toEqual([false, false, false, false, true, false]);
    // Back near the edge for a second: the count starts over.
    expect(watch.shouldJump(0.7, 0.6, 17_000)).toBe(false);
    expect(watch.shouldJump(2.7, 0.6, 18_000)).toBe(false);
    expect(watch.shouldJump(2.7, 0.6, 21_000)).toBe(false);
    expect(watch.shouldJump(2.7, 0.6, 22_000)).toBe(true);
  });

  it('does nothing before hls.js knows its latency', () => {
    const watch = new LiveEdgeWatch();
    expect(watch.shouldJump(null, 0.6, 0)).toBe(false);
    expect(watch.shouldJump(Number.NaN, 0.6, 10_000)).toBe(false);
    expect(watch.shouldJump(5, null, 20_000)).toBe(false);
  });
});
