/**
 * How long the supervisor waits before starting ffmpeg again (pure; `random` is injected for tests).
 * Unreachable and stalled cameras back off exponentially with jitter up to a cap, from the first failure on;
 * wrong credentials and unusable streams do not fix themselves, so they are retried slowly.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const BACKOFF: Readonly<Record<'offline' | 'stalled' | 'auth_failed' | 'unsupported', BackoffPolicy>> =
  {
    offline: { baseMs: 500, capMs: 30_000 },
    stalled: { baseMs: 500, capMs: 30_000 },
    auth_failed: { baseMs: 30_000, capMs: 300_000 },
    unsupported: { baseMs: 60_000, capMs: 600_000 },
  };

/** Delay before attempt `attempt` (0-based) after a failure: base·2^attempt, capped, then jittered to 50-100 %. */
export function backoffDelayMs(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(exponential * (0.5 + 0.5 * random()));
}
