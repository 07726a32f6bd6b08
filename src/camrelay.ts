import type { FastifyInstance } from 'fastify';
import type { Redis, RedisOptions } from 'ioredis';
import { CameraRegistry } from './cameras/registry.js';
import { CameraService } from './cameras/service.js';
import type { Config } from './config/schema.js';
import { Errors } from './errors.js';
import { EventFeed } from './health/event-feed.js';
import { HealthStore } from './health/store.js';
import { configureFfmpeg, resolveFfmpegPath } from './ingest/ffmpeg.js';
import type { Logger } from './log.js';
import { createMetricsRegistry } from './metrics.js';
import { createRedis, createSubscriber, redisOptionsFromUrl } from './redis/connection.js';
import { startEmbeddedRedis } from './redis/embedded.js';
import { type RedisKeys, redisKeys } from './redis/keys.js';
import { buildRelayApp } from './relay/app.js';
import { buildProbeApp } from './relay/probe-app.js';
import { Teardown } from './teardown.js';
import { IngestQueue } from './workers/ingest-queue.js';
import { IngestWorker } from './workers/ingest-worker.js';

export const ROLES = ['all', 'relay', 'worker'] as const;
export type Role = (typeof ROLES)[number];

export interface RunningCamrelay {
  /** http://host:port of the relay (all, relay) or of the worker's probe server (worker). */
  readonly url: string;
  readonly redisUrl: string;
  readonly worker: IngestWorker | null;
  readonly cameras: CameraService;
  stop(): Promise<void>;
}

/** Every this often the relay makes sure each enabled camera has its job (after a crash or a Redis restore). */
const JOB_RECONCILE_INTERVAL_MS = 60_000;

/**
 * Starts the given role in this process. `all` is relay and worker together and, with REDIS_URL unset,
 * its own redis-server. The returned stop() shuts down in order: stop taking requests, stop every ffmpeg
 * and hand the cameras back, close Redis.
 */
export async function startCamrelay(config: Config, role: Role, log: Logger): Promise<RunningCamrelay> {
  const teardown = new Teardown(log);
  try {
    return await start(config, role, log, teardown);
  } catch (err) {
    await teardown.run();
    throw err;
  }
}

async function start(config: Config, role: Role, log: Logger, teardown: Teardown): Promise<RunningCamrelay> {
  if (!config.redis.url && role !== 'all') {
    throw new Errors.CONFIG_INVALID(
      `  REDIS_URL: is required for the ${role} role (only "all" starts its own Redis)`,
    );
  }
  const runsWorker = role !== 'relay';
  if (runsWorker) await configureFfmpeg(resolveFfmpegPath(config.ffmpeg.path));
  const redisUrl = config.redis.url ?? (await embeddedRedis(config, log, teardown));
  const redisOptions = redisOptionsFromUrl(redisUrl);
  const redis = connect(createRedis(redisOptions, `camrelay-${role}`), teardown);
  const keys = redisKeys(config.redis.prefix);
  const metrics = createMetricsRegistry();
  const registry = new CameraRegistry(redis, keys);
  const health = new HealthStore(redis, keys, config.health.staleMs);
  const queue = new IngestQueue(redisOptions, keys.prefix);
  teardown.add(() => queue.close());
  const cameras = new CameraService(registry, health, queue);
  await health.load();

  let worker: IngestWorker | null = null;
  if (runsWorker) {
    const subscriber = connect(createSubscriber(redisOptions, 'camrelay-worker-sub'), teardown);
    const started = new IngestWorker({
      metrics,
      config,
      log,
      redisOptions,
      redis,
      subscriber,
      keys,
      registry,
      health,
      queue,
    });
    await started.start();
    teardown.add(() => started.close());
    worker = started;
  }

  const app =
    role === 'worker'
      ? await buildProbeApp({ log, redis, metrics })
      : await buildRelayApp({
          metrics,
          config,
          log,
          redis,
          registry,
          cameras,
          health,
          feed: await startEventFeed(redisOptions, keys, log, teardown),
        });
  const port = role === 'worker' ? config.worker.port : config.http.port;
  const url = await listen(app, config.http.host, port, teardown);
  if (role !== 'worker') reconcileJobs(cameras, log, teardown);
  log.info({ role, url }, 'camrelay started');
  return { url, redisUrl, worker, cameras, stop: () => teardown.run() };
}

async function embeddedRedis(config: Config, log: Logger, teardown: Teardown): Promise<string> {
  const embedded = await startEmbeddedRedis(config.dataDir, log);
  teardown.add(() => embedded.stop());
  return embedded.url;
}

async function startEventFeed(
  redisOptions: RedisOptions,
  keys: RedisKeys,
  log: Logger,
  teardown: Teardown,
): Promise<EventFeed> {
  const feed = new EventFeed(createSubscriber(redisOptions, 'camrelay-events'), keys.events, log);
  await feed.start();
  teardown.add(() => feed.stop());
  return feed;
}

function connect(redis: Redis, teardown: Teardown): Redis {
  redis.on('error', () => undefined); // reported by failing commands and /readyz, not once per retry
  teardown.add(() => redis.quit().catch(() => redis.disconnect()));
  return redis;
}

async function listen(app: FastifyInstance, host: string, port: number, teardown: Teardown): Promise<string> {
  await app.listen({ host, port });
  teardown.add(() => app.close());
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${bound}`;
}

function reconcileJobs(cameras: CameraService, log: Logger, teardown: Teardown): void {
  const run = () =>
    cameras.ensureJobs().catch((err: unknown) => log.warn({ err }, 'could not reconcile camera jobs'));
  void run();
  const timer = setInterval(run, JOB_RECONCILE_INTERVAL_MS);
  teardown.add(async () => clearInterval(timer));
}
