import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.js';

/** Who watches on-demand cameras: the last time (ms) a player asked for each one's playlist. */
export class Demand {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async touch(cameraId: string, atMs = Date.now()): Promise<void> {
    await this.redis.zadd(this.keys.demand, atMs, cameraId);
  }

  /** For each camera, whether someone asked for it since `sinceMs`. */
  async since(cameraIds: readonly string[], sinceMs: number): Promise<boolean[]> {
    if (cameraIds.length === 0) return [];
    const scores = await this.redis.zmscore(this.keys.demand, ...cameraIds);
    return scores.map((score) => score !== null && Number(score) >= sinceMs);
  }
}
