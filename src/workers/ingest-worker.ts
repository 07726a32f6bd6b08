import { hostname, networkInterfaces } from 'node:os';
import { DelayedError, type Job, Worker } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Camera } from '../cameras/camera.js';
import type { CameraRegistry } from '../cameras/registry.js';
import type { CameraSources } from '../cameras/sources.js';
import type { Config } from '../config/schema.js';
import type { HealthStore } from '../health/store.js';
import { killOrphans } from '../ingest/orphans.js';
import { clearOutput, listOutputDirs, outputDirFor } from '../ingest/output-dir.js';
import type { SupervisorFactory } from '../ingest/supervisor.js';
import type { Logger } from '../log.js';
import type { RedisKeys } from '../redis/keys.js';
import { CameraSession, type SessionEnd } from './camera-session.js';
import { INGEST_QUEUE, type IngestJobData, type IngestQueue } from './ingest-queue.js';
import { WorkerMetrics } from './worker-metrics.js';

/** How often sessions re-read their cameras, in case a change message was missed. */
const REFRESH_INTERVAL_MS = 5000;
const SWEEP_INTERVAL_MS = 1000;
const FENCE_CHECK_MS = 250;
const IDLE_CHECK_MS = 5000;
/** Start commands handled at once; each only takes a lease and spawns a supervisor. */
const START_CONCURRENCY = 16;
/** A start command this worker cannot take (full, closing) goes back for others after this long. */
const REQUEUE_DELAY_MS = 1000;

export interface IngestWorkerDeps {
  config: Config;
  log: Logger;
  redisOptions: RedisOptions;
  redis: Redis;
  subscriber: Redis;
  keys: RedisKeys;
  registry: CameraRegistry;
  health: HealthStore;
  queue: IngestQueue;
  metrics: Registry;
  sources: CameraSources;
  createSupervisor: SupervisorFactory;
}

/**
 * A worker holds cameras by lease, not by never-ending jobs: BullMQ carries short "start camera X"
 * commands to whichever worker has room, and the worker then holds the camera's lease in Redis, renewing
 * all of its leases in one call every third of CAMERA_LEASE_TTL_MS. A camera whose lease runs out (its
 * worker died) is swept by any worker and started again elsewhere. A worker that cannot renew for half a
 * lease stops every ffmpeg it runs before anyone else may take them: there is never a second writer.
 * (One BullMQ job per camera, never ending, does not survive a worker's SIGKILL at city scale: see
 * BENCHMARKS.md.)
 */
export class IngestWorker {
  private consumer: Worker<IngestJobData> | null = null;
  private readonly sessions = new Map<string, { session: CameraSession; done: Promise<SessionEnd> }>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly log: Logger;
  private readonly startedAtMs = Date.now();
  private readonly metrics: WorkerMetrics;
  private closing = false;
  /** Local time of the last renewal that Redis confirmed (sent at this time). */
  private renewedAtMs = Date.now();
  /** Where relays fetch this worker's HLS; known once its HTTP server listens. */
  private hlsUrl: string | null = null;

  constructor(private readonly deps: IngestWorkerDeps) {
    this.log = deps.log.child({ role: 'worker', workerId: deps.config.worker.id });
    const sessions = () => [...this.sessions.values()].map(({ session }) => session);
    this.metrics = new WorkerMetrics(deps.metrics, deps.config.worker.id, sessions);
  }

  get id(): string {
    return this.deps.config.worker.id;
  }

  /** Tells relays, with the next heartbeat, where this worker serves its HLS. */
  advertise(hlsUrl: string): void {
    this.hlsUrl = hlsUrl;
    void this.beat().catch(() => undefined);
  }

  get activeCameraIds(): string[] {
    return [...this.sessions.keys()];
  }

  async start(): Promise<void> {
    const { config, health, subscriber, keys } = this.deps;
    await health.load();
    killOrphans(config.hlsRoot, this.log);
    await this.removeOutputOfDeletedCameras();
    await subscriber.subscribe(keys.cameraChanges);
    subscriber.on('message', (channel, cameraId) => {
      if (channel === keys.cameraChanges) void this.refresh([cameraId]);
    });
    await this.beat();
    const leaseMs = config.health.leaseMs;
    this.every(leaseMs / 3, () => this.renew());
    this.every(FENCE_CHECK_MS, async () => this.fence());
    this.every(SWEEP_INTERVAL_MS, () => this.sweep());
    this.every(config.health.publishIntervalMs, () => this.beat());
    this.every(REFRESH_INTERVAL_MS, () => this.refresh(this.activeCameraIds));
    this.every(IDLE_CHECK_MS, () => this.stopIdle());
    const summaryMs = config.ffmpeg.warningSummaryIntervalMs;
    this.every(summaryMs, async () => {
      for (const { session } of this.sessions.values()) session.summarizeWarnings(summaryMs);
    });
    this.consumer = new Worker<IngestJobData>(INGEST_QUEUE, (job, token) => this.onStart(job, token), {
      connection: this.deps.redisOptions,
      prefix: keys.prefix,
      concurrency: START_CONCURRENCY,
      lockDuration: config.worker.lockDurationMs,
      stalledInterval: config.worker.stalledIntervalMs,
      name: config.worker.id,
    });
    this.consumer.on('error', (err) => this.log.error({ err }, 'bullmq worker error'));
    // Closing a BullMQ connection that is still connecting crashes the process (an 'error' emitted after
    // its listeners are gone), so a worker reports started only once its connections are up.
    await this.consumer.waitUntilReady();
    this.log.info({ maxStreams: config.worker.maxStreams, leaseMs }, 'ingest worker started');
  }

  /**
   * Stops every ffmpeg and hands every camera back at once: the lease is released and a start command
   * queued, so another worker takes it within moments rather than after a lease's time.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.consumer?.pause(true);
    const running = [...this.sessions.values()];
    for (const { session } of running) session.release();
    await Promise.all(running.map(({ done }) => done));
    await this.consumer?.close();
    await this.deps.subscriber.unsubscribe(this.deps.keys.cameraChanges).catch(() => undefined);
    await this.deps.health.workerGone(this.id).catch(() => undefined);
    this.log.info('ingest worker stopped');
  }

  /** A start command: take the camera's lease and start its session, or leave it to another worker. */
  private async onStart(job: Job<IngestJobData>, token: string | undefined): Promise<string> {
    const { cameraId } = job.data;
    const current = this.sessions.get(cameraId);
    if (current && !current.session.isEnding) {
      current.session.refresh(await this.deps.registry.get(cameraId));
      return 'running here';
    }
    await current?.done;
    if (this.closing || this.sessions.size >= this.deps.config.worker.maxStreams) {
      await job.moveToDelayed(Date.now() + REQUEUE_DELAY_MS, token);
      throw new DelayedError();
    }
    const claim = await this.deps.health.claim(cameraId, this.id);
    if (claim !== 'ok') return claim;
    this.launch(cameraId);
    return 'started';
  }

  private launch(cameraId: string): void {
    const session = new CameraSession(cameraId, {
      ...this.deps,
      workerId: this.id,
      metrics: this.metrics,
    });
    const done = session.run().then(
      (end) => this.afterSession(session, end),
      (err: unknown) => {
        this.log.error({ err, cameraId }, 'camera session failed');
        return this.afterSession(session, 'released');
      },
    );
    this.sessions.set(cameraId, { session, done });
  }

  private async afterSession(session: CameraSession, end: SessionEnd): Promise<SessionEnd> {
    const { cameraId } = session;
    if (this.sessions.get(cameraId)?.session === session) this.sessions.delete(cameraId);
    this.metrics.forget(cameraId);
    session.summarizeWarnings(this.deps.config.ffmpeg.warningSummaryIntervalMs);
    // Handed back: another worker takes it now. Deleted or disabled: unless it came back meanwhile.
    const again =
      end === 'released' || ((end === 'removed' || end === 'disabled') && (await this.wanted(cameraId)));
    if (again)
      await this.deps.queue
        .ensure(cameraId)
        .catch((err: unknown) => this.log.warn({ err }, 'could not requeue'));
    return end;
  }

  private async wanted(cameraId: string): Promise<boolean> {
    const camera = await this.deps.registry.get(cameraId).catch(() => null);
    return camera?.enabled === true && camera.mode === 'always';
  }

  /** Renews every lease this worker holds; cameras it turns out not to hold are stopped at once. */
  private async renew(): Promise<void> {
    const sentAtMs = Date.now();
    const ids = this.activeCameraIds;
    const lost = ids.length > 0 ? await this.deps.health.renew(this.id, ids) : [];
    this.renewedAtMs = sentAtMs;
    for (const cameraId of lost) this.sessions.get(cameraId)?.session.lostToAnother();
  }

  /**
   * Fencing: a worker that could not renew for half a lease stops all its ffmpeg, before the lease can run
   * out and another worker take the cameras. Keeping one writer per camera matters more than staying up.
   */
  private fence(): void {
    const silentMs = Date.now() - this.renewedAtMs;
    if (this.sessions.size === 0 || silentMs <= this.deps.config.health.leaseMs / 2) return;
    this.log.error(
      { silentMs, cameras: this.sessions.size },
      'cannot renew camera leases; stopping every ffmpeg',
    );
    for (const { session } of this.sessions.values()) session.lose();
  }

  /** Cameras whose lease ran out (a dead worker's) or that nobody took: start them again where there is room. */
  private async sweep(): Promise<void> {
    const freed = await this.deps.health.sweep();
    if (freed.length === 0) return;
    const cameras = await this.deps.registry.getMany(freed);
    const demand = await this.demandSince(freed, Date.now() - this.deps.config.onDemand.idleSec * 1000);
    const restart = cameras.filter(
      (camera, i): camera is Camera =>
        camera?.enabled === true && (camera.mode === 'always' || demand[i] === true),
    );
    if (restart.length > 0) await this.deps.queue.ensureMany(restart.map((camera) => camera.id));
    this.log.info({ freed: freed.length, restarting: restart.length }, 'swept cameras whose lease ran out');
  }

  /** Stops on-demand cameras nobody has asked for within ON_DEMAND_IDLE_SEC. */
  private async stopIdle(): Promise<void> {
    const idleMs = this.deps.config.onDemand.idleSec * 1000;
    const since = Date.now() - idleMs;
    const candidates = [...this.sessions.values()]
      .map(({ session }) => session)
      .filter((session) => session.mode === 'on-demand' && session.startedAtMs < since && !session.isEnding);
    if (candidates.length === 0) return;
    const demand = await this.demandSince(
      candidates.map((session) => session.cameraId),
      since,
    );
    candidates.forEach((session, i) => {
      if (!demand[i]) session.idle();
    });
  }

  private async demandSince(cameraIds: string[], sinceMs: number): Promise<boolean[]> {
    if (cameraIds.length === 0) return [];
    const scores = await this.deps.redis.zmscore(this.deps.keys.demand, ...cameraIds);
    return scores.map((score) => score !== null && Number(score) >= sinceMs);
  }

  private async refresh(cameraIds: string[]): Promise<void> {
    const owned = cameraIds.filter((id) => this.sessions.has(id));
    const cameras = await this.deps.registry.getMany(owned);
    for (const [i, id] of owned.entries()) this.sessions.get(id)?.session.refresh(cameras[i] ?? null);
  }

  private async beat(): Promise<void> {
    const { config, health } = this.deps;
    const reports = [...this.sessions.values()].flatMap(({ session }) => {
      const report = session.report();
      return report ? [{ cameraId: session.cameraId, report }] : [];
    });
    const taken = await health.reportMany(this.id, reports);
    for (const cameraId of taken) this.sessions.get(cameraId)?.session.lostToAnother();
    await health.workerBeat(this.id, {
      host: hostname(),
      pid: process.pid,
      streams: this.sessions.size,
      maxStreams: config.worker.maxStreams,
      startedAtMs: this.startedAtMs,
      ...(this.hlsUrl ? { hlsUrl: this.hlsUrl } : {}),
    });
  }

  /** A camera deleted while no worker ran leaves its folder behind; nobody else would remove it. */
  private async removeOutputOfDeletedCameras(): Promise<void> {
    const dirs = await listOutputDirs(this.deps.config.hlsRoot);
    const cameras = await this.deps.registry.getMany(dirs);
    for (const [i, id] of dirs.entries()) {
      if (cameras[i]) continue;
      await clearOutput(outputDirFor(this.deps.config.hlsRoot, id));
      this.log.info({ cameraId: id }, 'removed output of a deleted camera');
    }
  }

  private every(ms: number, task: () => Promise<void>): void {
    let running = false;
    this.timers.push(
      setInterval(() => {
        if (running) return;
        running = true;
        task()
          .catch((err: unknown) => this.log.warn({ err }, 'periodic task failed'))
          .finally(() => {
            running = false;
          });
      }, ms),
    );
  }
}

/**
 * Where relays reach this process's HLS: WORKER_ADVERTISE_URL, or the port it listens on at this host's first
 * external IPv4 address (its container's address, under compose), or loopback where it listens only there.
 */
export function advertisedUrl(config: Config, boundPort: number): string {
  if (config.worker.advertiseUrl) return config.worker.advertiseUrl;
  const scheme = config.tls ? 'https' : 'http';
  const host = config.http.host;
  if (host !== '0.0.0.0' && host !== '::')
    return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  const address = Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry?.family === 'IPv4' && !entry.internal)?.address;
  return `${scheme}://${address ?? hostname()}:${boundPort}`;
}
