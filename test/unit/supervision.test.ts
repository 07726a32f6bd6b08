import { describe, expect, it } from 'vitest';
import { BACKOFF, backoffDelayMs } from '../../src/ingest/backoff.js';
import { RateMeter } from '../../src/ingest/rate-meter.js';
import { assertTransition, canTransition, IllegalTransitionError } from '../../src/ingest/status.js';

describe('backoffDelayMs', () => {
  it('doubles from the first failure and stops at the cap', () => {
    const full = () => 1;
    const delays = [0, 1, 2, 3, 10, 20].map((attempt) => backoffDelayMs(BACKOFF.offline, attempt, full));
    expect(delays).toEqual([500, 1000, 2000, 4000, 30_000, 30_000]);
  });

  it('jitters each delay to between half and all of it', () => {
    expect(backoffDelayMs(BACKOFF.offline, 3, () => 0)).toBe(2000);
    expect(backoffDelayMs(BACKOFF.offline, 3, () => 0.5)).toBe(3000);
  });

  it('retries wrong credentials and unusable streams slowly', () => {
    expect(backoffDelayMs(BACKOFF.auth_failed, 0, () => 0)).toBeGreaterThanOrEqual(15_000);
    expect(backoffDelayMs(BACKOFF.unsupported, 0, () => 0)).toBeGreaterThanOrEqual(30_000);
  });
});

describe('status transitions', () => {
  it('allows the paths a camera takes', () => {
    for (const [from, to] of [
      ['stopped', 'starting'],
      ['starting', 'online'],
      ['online', 'stalled'],
      ['stalled', 'starting'],
      ['online', 'offline'],
      ['offline', 'starting'],
      ['starting', 'auth_failed'],
      ['online', 'stopped'],
    ] as const) {
      expect(canTransition(from, to)).toBe(true);
    }
  });

  it('rejects shortcuts: back online needs a new start', () => {
    expect(() => assertTransition('offline', 'online')).toThrow(IllegalTransitionError);
    expect(() => assertTransition('stalled', 'online')).toThrow(/stalled -> online/);
    expect(() => assertTransition('stopped', 'online')).toThrow(IllegalTransitionError);
  });
});

describe('RateMeter', () => {
  it('measures the current rate, not the average since start', () => {
    const meter = new RateMeter(4000);
    meter.record(0, 0);
    meter.record(1000, 100); // a burst while ffmpeg catches up
    for (let t = 2000; t <= 10_000; t += 500) meter.record(t, 100 + ((t - 1000) / 1000) * 25);
    expect(meter.perSecond()).toBeCloseTo(25, 5);
  });

  it('says nothing until half its window is measured, so a start-up burst is not reported', () => {
    const meter = new RateMeter(4000);
    meter.record(0, 0);
    meter.record(1000, 40);
    meter.record(1900, 62);
    expect(meter.perSecond()).toBeNull();
    meter.record(2000, 65);
    expect(meter.perSecond()).toBeCloseTo(32.5, 5);
  });

  it('starts over when the counter goes back (a new ffmpeg)', () => {
    const meter = new RateMeter(4000);
    meter.record(0, 5000);
    meter.record(2000, 5050);
    meter.record(3000, 10);
    expect(meter.perSecond()).toBeNull();
  });
});
