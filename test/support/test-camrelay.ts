import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { type Role, type RunningCamrelay, startCamrelay } from '../../src/camrelay.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { redisOptionsFromUrl } from '../../src/redis/connection.js';
import { captureLog } from './capture-log.js';

/** Tests read API bodies loosely; the API's own schemas are what guarantee their shape. */
export interface ApiResponse extends Response {
  // biome-ignore lint/suspicious/noExplicitAny: assertions check the shape
  json(): Promise<any>;
}

export interface TestCamrelay extends RunningCamrelay {
  config: Config;
  /** Every log line camrelay wrote. */
  logs: string[];
  /** A Redis connection for assertions, under the same server. */
  redis: Redis;
  api(pathname: string, init?: RequestInit & { json?: unknown }): Promise<ApiResponse>;
  /** Stops camrelay, deletes its keys and its data folder. */
  close(): Promise<void>;
}

/**
 * A real camrelay in this process, on the run's shared Redis under a key prefix of its own, with its own
 * data folder and an OS-chosen port. Timings are shortened so tests see changes quickly.
 */
export async function startTestCamrelay(
  role: Role = 'all',
  env: Record<string, string> = {},
): Promise<TestCamrelay> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'camrelay-test-'));
  const prefix = `t-${randomBytes(4).toString('hex')}`;
  const config = loadConfig({
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: prefix,
    DATA_DIR: dataDir,
    PORT: '0',
    WORKER_PORT: '0',
    LOG_LEVEL: 'debug',
    HEALTH_PUBLISH_INTERVAL_MS: '500',
    HEALTH_STALE_MS: '3000',
    ...env,
  });
  const { log, lines } = captureLog(config.logLevel);
  const running = await startCamrelay(config, role, log);
  const redis = new Redis(redisOptionsFromUrl(inject('redisUrl')));
  return {
    ...running,
    config,
    logs: lines,
    redis,
    api: (pathname, init = {}) => {
      const { json, ...rest } = init;
      return fetch(`${running.url}${pathname}`, {
        ...rest,
        ...(json === undefined
          ? {}
          : { body: JSON.stringify(json), headers: { 'content-type': 'application/json', ...rest.headers } }),
      });
    },
    async close() {
      await running.stop();
      await deleteKeys(redis, prefix);
      redis.disconnect();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}
