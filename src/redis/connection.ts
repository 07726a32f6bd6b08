import { Redis, type RedisOptions } from 'ioredis';

/** ioredis options from REDIS_URL: redis://[user:password@]host[:port][/db], rediss:// (TLS) or unix:///path.sock. */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const parsed = new URL(url);
  if (parsed.protocol === 'unix:') return { path: decodeURIComponent(parsed.pathname) };
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(Number.isInteger(db) ? { db } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * A connection for commands: it fails a command after a few retries instead of queueing it forever,
 * so API requests answer 503 while Redis is down rather than hang.
 */
export function createRedis(options: RedisOptions, connectionName: string): Redis {
  return new Redis({
    ...options,
    connectionName,
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
}

/** A connection for SUBSCRIBE, which must keep retrying for as long as the process lives. */
export function createSubscriber(options: RedisOptions, connectionName: string): Redis {
  return new Redis({ ...options, connectionName, maxRetriesPerRequest: null });
}
