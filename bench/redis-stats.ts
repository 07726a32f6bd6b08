/** Shared by the city benchmarks: progress lines, percentiles, Redis's own CPU and command counters. */
import type { Redis } from 'ioredis';

export interface CommandStat {
  calls: number;
  usec: number;
}

/** A timestamped line on stderr, so stdout carries only the results table. */
export const progress = (message: string) =>
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${message}`);

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/**
 * INFO, waited for while Redis answers BUSY (a script running past lua-time-limit): a finding to report,
 * not a reason for the benchmark to die.
 */
async function info(redis: Redis, section: string): Promise<string> {
  for (;;) {
    try {
      return await redis.info(section);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('BUSY')) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** CPU seconds (system + user) Redis has used since it started: its own count, whatever host it runs on. */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const cpu = await info(redis, 'cpu');
  const read = (key: string) => Number(new RegExp(`${key}:([\\d.]+)`).exec(cpu)?.[1] ?? 0);
  return read('used_cpu_sys') + read('used_cpu_user');
}

export async function commandStats(redis: Redis): Promise<Map<string, CommandStat>> {
  const stats = new Map<string, CommandStat>();
  for (const line of (await info(redis, 'commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (match) stats.set(match[1] as string, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

/**
 * The commands that took most of Redis's time between two commandStats snapshots `windowMs` apart, as
 * "name share-of-one-core % (calls/s)". Redis 7 counts a script's commands both under the script's
 * evalsha and under their own names, so the shares may add up to more than the CPU Redis used.
 */
export function busiestCommands(
  before: Map<string, CommandStat>,
  after: Map<string, CommandStat>,
  windowMs: number,
  top = 5,
): string[] {
  const windowSec = windowMs / 1000;
  return [...after.entries()]
    .map(([name, now]) => {
      const then = before.get(name) ?? { calls: 0, usec: 0 };
      return { name, calls: now.calls - then.calls, usec: now.usec - then.usec };
    })
    .sort((a, b) => b.usec - a.usec)
    .slice(0, top)
    .map(
      (c) =>
        `${c.name} ${((c.usec / 1e6 / windowSec) * 100).toFixed(1)} % (${Math.round(c.calls / windowSec)}/s)`,
    );
}
