import { createHash } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';

type Arg = string | number;

/** A Lua script run by its SHA (EVALSHA), loaded on first use and again after a Redis restart (NOSCRIPT). */
export class LuaScript {
  private readonly sha: string;

  constructor(
    private readonly lua: string,
    private readonly numberOfKeys: number,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly Arg[] = []): Promise<unknown> {
    this.checkKeys(keys);
    try {
      return await redis.evalsha(this.sha, this.numberOfKeys, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.lua, this.numberOfKeys, ...keys, ...args);
    }
  }

  /** Queues the script in a pipeline. Call load() first: a pipeline cannot fall back on NOSCRIPT. */
  queue(pipeline: ChainableCommander, keys: readonly string[], args: readonly Arg[] = []): void {
    this.checkKeys(keys);
    pipeline.evalsha(this.sha, this.numberOfKeys, ...keys, ...args);
  }

  async load(redis: Redis): Promise<void> {
    await redis.script('LOAD', this.lua);
  }

  private checkKeys(keys: readonly string[]): void {
    if (keys.length !== this.numberOfKeys) {
      throw new Error(`script expects ${this.numberOfKeys} keys, got ${keys.length}`);
    }
  }
}
