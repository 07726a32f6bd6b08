import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.js';
import { LuaScript } from '../redis/script.js';

/** Who holds a camera's publisher: the push server's id and connection, and where workers pull it from. */
export interface PublishClaim {
  /** rtmp://host:port of the push server holding the publisher, as workers reach it. */
  origin: string;
  serverId: string;
  sessionId: string;
  sinceMs: number;
}

/** Extends a claim that is still ours; takes it back if Redis lost it (a restart); 0 if someone else holds it. */
const RENEW = new LuaScript(
  `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not current then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`,
  1,
);

const RELEASE = new LuaScript(
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  1,
);

/**
 * One publisher per camera across every push server: a claim in Redis, taken when a publisher is admitted
 * and renewed while it publishes. A push server that dies leaves claims that lapse after their TTL, so a
 * publisher that reconnects elsewhere is admitted then.
 */
export class PublishClaims {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Takes the claim unless someone holds it; tells workers that the camera has a publisher now. */
  async take(cameraId: string, claim: PublishClaim, ttlMs: number): Promise<boolean> {
    const taken = await this.redis.set(
      this.keys.pushClaim(cameraId),
      JSON.stringify(claim),
      'PX',
      ttlMs,
      'NX',
    );
    if (taken !== 'OK') return false;
    await this.redis.publish(this.keys.pushPublished, cameraId);
    return true;
  }

  /** Renews many claims in one round trip; returns the cameras whose claim someone else holds now. */
  async renew(claims: ReadonlyMap<string, PublishClaim>, ttlMs: number): Promise<string[]> {
    if (claims.size === 0) return [];
    await RENEW.load(this.redis);
    const pipeline = this.redis.pipeline();
    for (const [cameraId, claim] of claims)
      RENEW.queue(pipeline, [this.keys.pushClaim(cameraId)], [JSON.stringify(claim), ttlMs]);
    const results = (await pipeline.exec()) ?? [];
    const ids = [...claims.keys()];
    return ids.filter((_, i) => {
      const [err, reply] = results[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      return reply === 0;
    });
  }

  async release(cameraId: string, claim: PublishClaim): Promise<void> {
    await RELEASE.run(this.redis, [this.keys.pushClaim(cameraId)], [JSON.stringify(claim)]);
  }

  async get(cameraId: string): Promise<PublishClaim | null> {
    const json = await this.redis.get(this.keys.pushClaim(cameraId));
    return json ? (JSON.parse(json) as PublishClaim) : null;
  }
}
