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
  /** The bootstrap admin token; api() sends it unless told otherwise. */
  adminToken: string;
  /** Every log line camrelay wrote. */
  logs: string[];
  /** A Redis connection for assertions, under the same server. */
  redis: Redis;
  /** A call as admin, or with `token` (null: no credential at all). */
  api(pathname: string, init?: RequestInit & { json?: unknown; token?: string | null }): Promise<ApiResponse>;
  /** A playlist or segment through a signed stream URL, as a player fetches it. */
  hls(cameraId: string, file: string): Promise<Response>;
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
  const adminToken = `test-admin-${randomBytes(24).toString('hex')}`;
  const config = loadConfig({
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: prefix,
    DATA_DIR: dataDir,
    PORT: '0',
    WORKER_PORT: '0',
    LOG_LEVEL: 'debug',
    HEALTH_PUBLISH_INTERVAL_MS: '500',
    CAMERA_LEASE_TTL_MS: '3000',
    CAMERA_START_WAIT_MS: '3000',
    CAMRELAY_ADMIN_TOKEN: adminToken,
    CAMRELAY_SECRET_KEY: randomBytes(32).toString('hex'),
    CAMERA_NETWORKS: '127.0.0.0/8,::1/128',
    // Tests poll much faster than people do; the limit itself is tested with its own setting.
    RATE_LIMIT_PER_MIN: '1000000',
    // Push tests turn it on, on a port of their own; elsewhere it would only hold port 1935.
    RTMP_SERVER: 'off',
    RTMP_PORT: '0',
    ...env,
  });
  const { log, lines } = captureLog(config.logLevel);
  const running = await startCamrelay(config, role, log);
  const redis = new Redis(redisOptionsFromUrl(inject('redisUrl')));
  const api: TestCamrelay['api'] = (pathname, init = {}) => {
    const { json, token = adminToken, ...rest } = init;
    const headers = {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(json === undefined ? {} : { 'content-type': 'application/json' }),
      ...(rest.headers as Record<string, string> | undefined),
    };
    return fetch(`${running.url}${pathname}`, {
      ...rest,
      headers,
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    }) as Promise<ApiResponse>;
  };
  const signatures = new Map<string, string>();
  return {
    ...running,
    config,
    adminToken,
    logs: lines,
    redis,
    api,
    async hls(cameraId, file) {
      let query = signatures.get(cameraId);
      if (!query) {
        const { url } = await (await api(`/api/v1/cameras/${cameraId}/stream`)).json();
        query = new URL(url).search.slice(1);
        signatures.set(cameraId, query);
      }
      return fetch(`${running.url}/hls/${cameraId}/${file}${file.includes('?') ? '' : `?${query}`}`);
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
