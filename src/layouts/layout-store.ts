import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.js';
import { type Layout, layoutSchema } from './layout.js';

/** Named wall layouts in one Redis hash, so every wall screen and every relay sees the same ones. */
export class LayoutStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Saves a new layout; false when the name is taken. */
  async create(layout: Layout): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys.layouts, layout.name, JSON.stringify(layout))) === 1;
  }

  /** Saves a layout whether or not it existed; true when it is new. */
  async put(layout: Layout): Promise<boolean> {
    return (await this.redis.hset(this.keys.layouts, layout.name, JSON.stringify(layout))) === 1;
  }

  async get(name: string): Promise<Layout | null> {
    const stored = await this.redis.hget(this.keys.layouts, name);
    return stored === null ? null : layoutSchema.parse(JSON.parse(stored));
  }

  /** Every layout, by name: a deployment has a handful, not thousands. */
  async list(): Promise<Layout[]> {
    const stored = await this.redis.hvals(this.keys.layouts);
    return stored
      .map((json) => layoutSchema.parse(JSON.parse(json)))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async delete(name: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.layouts, name)) === 1;
  }
}
