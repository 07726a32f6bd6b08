import type { Redis } from 'ioredis';

/** Every value under a key prefix, whatever the key's type, as text. */
export async function dumpRedis(redis: Redis, prefix: string): Promise<string[]> {
  const values: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'string') values.push(`${key}=${await redis.get(key)}`);
      else if (type === 'hash') values.push(`${key}=${JSON.stringify(await redis.hgetall(key))}`);
      else if (type === 'zset')
        values.push(`${key}=${JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES'))}`);
      else if (type === 'set') values.push(`${key}=${JSON.stringify(await redis.smembers(key))}`);
      else if (type === 'list') values.push(`${key}=${JSON.stringify(await redis.lrange(key, 0, -1))}`);
      else if (type === 'stream') values.push(`${key}=${JSON.stringify(await redis.xrange(key, '-', '+'))}`);
      else values.push(`${key}=(${type})`);
    }
  } while (cursor !== '0');
  return values;
}
