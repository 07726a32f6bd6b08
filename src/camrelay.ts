import type { FastifyInstance } from 'fastify';
import type { Redis, RedisOptions } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import { Demand } from './cameras/demand.js';
import { CameraImport } from './cameras/import.js';
import { CameraRegistry } from './cameras/registry.js';
import { CameraService } from './cameras/service.js';
import { CameraSources } from './cameras/sources.js';
import type { Config } from './config/schema.js';
import { Errors } from './errors.js';
import { EventFeed } from './health/event-feed.js';
import { HealthStore } from './health/store.js';
import { configureFfmpeg, resolveFfmpegPath } from './ingest/ffmpeg.js';
import { firstFrameJpeg, type SegmentMedia } from './ingest/first-frame.js';
import { createSupervisor as createIngestSupervisor, type SupervisorFactory } from './ingest/supervisor.js';
import { LayoutStore } from './layouts/layout-store.js';
import { LiveStreams } from './llhls/live-streams.js';
import type { Logger } from './log.js';
import { createMetricsRegistry } from './metrics.js';
import { PublishClaims } from './push/publish-claims.js';
import { PullTokens } from './push/pull-token.js';
import { type PushListening, PushServer, type PushServerDeps } from './push/push-server.js';
import { PushSources } from './push/push-sources.js';
import { createRedis, createSubscriber, redisOptionsFromUrl } from './redis/connection.js';
import { startEmbeddedRedis } from './redis/embedded.js';
import { type RedisKeys, redisKeys } from './redis/keys.js';
import { buildRelayApp } from './relay/app.js';
import { HlsSource } from './relay/hls-source.js';
import { OnDemand } from './relay/on-demand.js';
import { Snapshots } from './relay/snapshots.js';
import { buildWorkerApp } from './relay/worker-app.js';
import { AuditLog } from './security/audit.js';
import { CameraNetworks } from './security/camera-networks.js';
import { loadSecretKey, SecretBox } from './security/secret-box.js';
import { SessionStore } from './security/sessions.js';
import { StreamSigner } from './security/stream-signer.js';
import { TokenStore } from './security/tokens.js';
import { Teardown } from './teardown.js';
import { IngestQueue } from './workers/ingest-queue.js';
import { advertisedUrl, IngestWorker } from './workers/ingest-worker.js';
import { LapseSweeper } from './workers/lapse-sweeper.js';
import { consumeMaintenance, Reconciler, scheduleReconcile } from './workers/reconciler.js';

export const ROLES = ['all', 'relay', 'worker', 'push'] as const;
export type Role = (typeof ROLES)[number];

export interface RunningCamrelay {
  /** http://host:port of the relay (all, relay) or of the worker's probe server (worker). */
  readonly url: string;
  readonly redisUrl: string;
  readonly worker: IngestWorker | null;
  /** Where this process takes RTMP(S) publishers, when it runs a push server. */
  readonly push: PushListening | null;
  readonly cameras: CameraService;
  readonly signer: StreamSigner;
  readonly tokens: TokenStore;
  stop(): Promise<void>;
}

/** How often one worker checks that every always-on camera runs (after a crash, a Redis restore). */
const RECONCILE_INTERVAL_MS = 30_000;
const KEY_PRUNE_INTERVAL_MS = 3_600_000;

/**
 * Starts the given role in this process. `all` is relay and worker together and, with REDIS_URL unset,
 * its own redis-server. The returned stop() shuts down in order: stop taking requests, stop every ffmpeg
 * and hand the cameras back, close Redis.
 */
export interface CamrelayOptions {
  /** Replaces the ffmpeg supervisor: the city-scale benchmark simulates ingest with it. */
  createSupervisor?: SupervisorFactory;
}

export async function startCamrelay(
  config: Config,
  role: Role,
  log: Logger,
  options: CamrelayOptions = {},
): Promise<RunningCamrelay> {
  const teardown = new Teardown(log);
  try {
    return await start(config, role, log, teardown, options);
  } catch (err) {
    await teardown.run();
    throw err;
  }
}

async function start(
  config: Config,
  role: Role,
  log: Logger,
  teardown: Teardown,
  options: CamrelayOptions,
): Promise<RunningCamrelay> {
  requireForRole(config, role);
  const runsWorker = role === 'all' || role === 'worker';
  if (runsWorker && !options.createSupervisor) await configureFfmpeg(resolveFfmpegPath(config.ffmpeg.path));
  const secretKey = await loadSecretKey(config.security.secretKey, config.dataDir, log);
  const secretBox = new SecretBox(secretKey);
  const redisUrl = config.redis.url ?? (await embeddedRedis(config, log, teardown));
  const redisOptions = redisOptionsFromUrl(redisUrl);
  const redis = connect(createRedis(redisOptions, `camrelay-${role}`), teardown);
  const keys = redisKeys(config.redis.prefix);
  const metrics = createMetricsRegistry();
  const registry = new CameraRegistry(redis, keys);
  const claims = new PublishClaims(redis, keys);
  const pullTokens = new PullTokens(secretKey);
  const push = runsPushServer(config, role)
    ? await startPushServer(
        { config, log, registry, claims, pullTokens, keys, metrics },
        redisOptions,
        teardown,
      )
    : null;
  // Workers renew their leases over a connection of their own: nothing else of theirs queues in front.
  const leaseRedis = runsWorker
    ? connect(createRedis(redisOptions, `camrelay-${role}-leases`), teardown)
    : redis;
  const health = new HealthStore(redis, keys, config.health, leaseRedis);
  const queue = new IngestQueue(redisOptions, keys.prefix);
  await queue.ready();
  teardown.add(() => queue.close());
  const networks = new CameraNetworks(config.security.cameraNetworks);
  if (!networks.restricted)
    log.warn('CAMERA_NETWORKS is "any": cameras may point anywhere this host can reach');
  const sources = new CameraSources(secretBox, networks, config.security.cameraUrlSchemes);
  const cameras = new CameraService(registry, health, queue, sources);
  const tokens = new TokenStore(redis, keys, config.security.adminToken);
  const sessions = new SessionStore(redis, keys, tokens, config.security.sessionTtlSec);
  const signer = new StreamSigner(redis, keys, secretBox, config.security.streamKeyRotationSec);
  if (role === 'push') {
    const app = await buildWorkerApp({ config, log, redis, metrics, tokens, sessions, signer, source: null });
    const { url } = await listen(app, config.http.host, config.worker.port, config.tls !== null, teardown);
    log.info({ role, url, rtmpPort: push?.rtmpPort }, 'camrelay started');
    return { url, redisUrl, worker: null, push, cameras, signer, tokens, stop: () => teardown.run() };
  }
  const demand = new Demand(redis, keys);
  const sweeper = new LapseSweeper({
    health,
    registry,
    queue,
    demand,
    idleSec: config.onDemand.idleSec,
    log,
  });
  await health.load();

  let worker: IngestWorker | null = null;
  // LL-HLS: what this process ingests is packaged and served from memory.
  const liveStreams = runsWorker && config.hls.mode === 'll' ? new LiveStreams(liveSettings(config)) : null;
  if (runsWorker) {
    const subscriber = connect(createSubscriber(redisOptions, 'camrelay-worker-sub'), teardown);
    const createSupervisor = options.createSupervisor ?? createIngestSupervisor;
    const deps = {
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
      sources,
      push: new PushSources(claims, pullTokens),
    };
    const started = new IngestWorker({ ...deps, createSupervisor, demand, sweeper, liveStreams });
    await started.start();
    teardown.add(() => started.close());
    const maintenance = await consumeMaintenance(
      redisOptions,
      keys.prefix,
      new Reconciler(registry, redis, keys, queue),
      log,
    );
    teardown.add(() => maintenance.close());
    worker = started;
  }

  let app: FastifyInstance;
  if (role === 'worker') {
    const source = new HlsSource(config.hlsRoot, null, liveStreams);
    app = await buildWorkerApp({ config, log, redis, metrics, tokens, sessions, signer, source });
  } else {
    const feed = await startEventFeed(redisOptions, keys, log, teardown);
    // Files this process has on disk are served from there; others come from the worker that has them.
    const source = new HlsSource(
      config.hlsRoot,
      {
        redis,
        keys,
        signer,
        log,
        onUpstreamFetch: upstreamCounter(metrics),
        selfWorkerId: worker ? config.worker.id : null,
      },
      liveStreams,
      config.hls.mode === 'll',
    );
    const onDemand = new OnDemand({
      demand,
      registry,
      health,
      queue,
      feed,
      redis,
      keys,
      startWaitMs: config.onDemand.startWaitMs,
    });
    app = await buildRelayApp({
      sweeper,
      ...{
        config,
        log,
        redis,
        registry,
        cameras,
        health,
        metrics,
        tokens,
        sessions,
        signer,
        feed,
        source,
        onDemand,
      },
      audit: new AuditLog(redis, keys),
      importer: new CameraImport(registry, health, queue, sources),
      layouts: new LayoutStore(redis, keys),
      rtmpPort: push?.rtmpPort ?? config.push.port,
      snapshots: new Snapshots(source, snapshotDecoder(config, runsWorker && !options.createSupervisor)),
    });
  }
  const port = role === 'worker' ? config.worker.port : config.http.port;
  const { url, boundPort } = await listen(app, config.http.host, port, config.tls !== null, teardown);
  worker?.advertise(advertisedUrl(config, boundPort));
  if (role !== 'worker') {
    await scheduleReconcile(redisOptions, keys.prefix, RECONCILE_INTERVAL_MS);
    every(KEY_PRUNE_INTERVAL_MS, () => signer.prune(), 'could not prune stream keys', log, teardown);
  }
  log.info({ role, url }, 'camrelay started');
  return { url, redisUrl, worker, push, cameras, signer, tokens, stop: () => teardown.run() };
}

function upstreamCounter(metrics: Registry): (kind: 'playlist' | 'segment') => void {
  const counter = new Counter({
    name: 'camrelay_relay_upstream_fetches_total',
    help: 'HLS files this relay fetched from workers, by kind (one per file however many viewers ask).',
    labelNames: ['kind'],
    registers: [metrics],
  });
  return (kind) => counter.inc({ kind });
}

/**
 * What only `all` may leave unset: it runs on one machine and makes its own Redis and key file. Roles that
 * share a deployment must share Redis and the secret key, and must be told where cameras may be.
 */
function requireForRole(config: Config, role: Role): void {
  if (role === 'relay' && config.push.server === 'on')
    throw new Errors.CONFIG_INVALID(
      '  RTMP_SERVER: the relay role runs no RTMP server; run `camrelay push` (or a worker with RTMP_SERVER=on) for push cameras',
    );
  if (role === 'all') return;
  const missing = [
    !config.redis.url && `  REDIS_URL: is required for the ${role} role (only "all" starts its own Redis)`,
    !config.security.secretKey &&
      `  CAMRELAY_SECRET_KEY: is required for the ${role} role: every process must seal and open camera credentials with the same key`,
    role !== 'push' &&
      !config.security.cameraNetworks &&
      `  CAMERA_NETWORKS: is required for the ${role} role: the networks cameras are in, e.g. 10.20.0.0/16 (or "any")`,
  ].filter(Boolean);
  if (missing.length > 0) throw new Errors.CONFIG_INVALID(missing.join('\n'));
}

/** The push role always runs one; `all` unless RTMP_SERVER=off; a worker only with RTMP_SERVER=on. */
function runsPushServer(config: Config, role: Role): boolean {
  if (role === 'push') return true;
  if (role === 'all') return config.push.server !== 'off';
  return role === 'worker' && config.push.server === 'on';
}

async function startPushServer(
  deps: Omit<PushServerDeps, 'subscriber'>,
  redisOptions: RedisOptions,
  teardown: Teardown,
): Promise<PushListening> {
  const subscriber = connect(createSubscriber(redisOptions, 'camrelay-push-sub'), teardown);
  const server = new PushServer({ ...deps, subscriber });
  // Stopped before Redis closes (teardown runs last-in first-out): its claims are given back.
  teardown.add(() => server.stop());
  return server.start();
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

async function listen(
  app: FastifyInstance,
  host: string,
  port: number,
  tls: boolean,
  teardown: Teardown,
): Promise<{ url: string; boundPort: number }> {
  await app.listen({ host, port });
  teardown.add(() => app.close());
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    url: `${tls ? 'https' : 'http'}://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${boundPort}`,
    boundPort,
  };
}

/** Runs `task` now and every `ms`, logging failures, until shutdown. */
function every(
  ms: number,
  task: () => Promise<unknown>,
  failure: string,
  log: Logger,
  teardown: Teardown,
): void {
  const run = () => task().catch((err: unknown) => log.warn({ err }, failure));
  void run();
  const timer = setInterval(run, ms);
  teardown.add(async () => clearInterval(timer));
}

function liveSettings(config: Config) {
  return {
    targetSegmentSec: config.hls.segmentDurationSec,
    partTargetSec: config.hls.partDurationMs / 1000,
    windowSegments: config.hls.listSize,
  };
}

/** Snapshots decode with ffmpeg: set up already where a worker runs, else on the first snapshot asked for. */
function snapshotDecoder(config: Config, ready: boolean): (media: SegmentMedia) => Promise<Buffer> {
  let configured: Promise<void> | null = ready ? Promise.resolve() : null;
  return async (media) => {
    configured ??= configureFfmpeg(resolveFfmpegPath(config.ffmpeg.path));
    try {
      await configured;
    } catch (err) {
      configured = null;
      throw new Errors.SNAPSHOTS_UNAVAILABLE((err as Error).message);
    }
    return firstFrameJpeg(media);
  };
}
