import { hostname } from 'node:os';
import { type Job, WaitingError, Worker } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import type { Registry } from 'prom-client';
import type { CameraRegistry } from '../cameras/registry.js';
import type { CameraSources } from '../cameras/sources.js';
import type { Config } from '../config/schema.js';
import type { HealthStore } from '../health/store.js';
import { killOrphans } from '../ingest/orphans.js';
import { clearOutput, listOutputDirs, outputDirFor } from '../ingest/output-dir.js';
import type { Logger } from '../log.js';
import type { RedisKeys } from '../redis/keys.js';
import { CameraSession } from './camera-session.js';
import { INGEST_QUEUE, type IngestJobData, type IngestQueue, ingestJobId } from './ingest-queue.js';
import { WorkerMetrics } from './worker-metrics.js';

/** How often sessions re-read their cameras, in case a change message was missed. */
const RECONCILE_INTERVAL_MS = 5000;

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
}

/**
 * Takes camera jobs from BullMQ (one never-ending job per camera) and runs a CameraSession for each.
 * Locks are short, so a killed worker's cameras move on within seconds; a worker that loses a lock
 * stops that ffmpeg at once, so two workers never write one camera.
 */
export class IngestWorker {
  private worker: Worker<IngestJobData> | null = null;
  private readonly sessions = new Map<string, CameraSession>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly log: Logger;
  private readonly startedAtMs = Date.now();
  private readonly metrics: WorkerMetrics;
  private closing = false;

  constructor(private readonly deps: IngestWorkerDeps) {
    this.log = deps.log.child({ role: 'worker', workerId: deps.config.worker.id });
    this.metrics = new WorkerMetrics(deps.metrics, deps.config.worker.id, () => this.sessions.values());
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
    this.worker = new Worker<IngestJobData>(
      INGEST_QUEUE,
      (job, token, signal) => this.process(job, token, signal),
      {
        connection: this.deps.redisOptions,
        prefix: keys.prefix,
        concurrency: config.worker.maxStreams,
        lockDuration: config.worker.lockDurationMs,
        stalledInterval: config.worker.stalledIntervalMs,
        // A camera job runs forever; being recovered from a dead worker must never fail it.
        maxStalledCount: Number.MAX_SAFE_INTEGER,
        name: config.worker.id,
      },
    );
    this.worker.on('lockRenewalFailed', (jobIds) => this.onLocksLost(jobIds));
    this.worker.on('completed', (job) => void this.requeueIfWanted(job.data.cameraId));
    this.worker.on('error', (err) => this.log.error({ err }, 'bullmq worker error'));
    this.worker.on('failed', (job, err) => {
      if (err.name !== 'WaitingError')
        this.log.error({ err, cameraId: job?.data.cameraId }, 'camera job failed; retrying');
    });
    await this.beat();
    this.every(config.health.publishIntervalMs, () => this.beat());
    this.every(RECONCILE_INTERVAL_MS, () => this.refresh(this.activeCameraIds));
    const summaryMs = config.ffmpeg.warningSummaryIntervalMs;
    this.every(summaryMs, async () => {
      for (const session of this.sessions.values()) session.summarizeWarnings(summaryMs);
    });
    this.log.info({ maxStreams: config.worker.maxStreams }, 'ingest worker started');
  }

  /**
   * Stops every ffmpeg and hands the cameras back to the queue for the other workers. BullMQ's close()
   * waits for running jobs, and camera jobs never end by themselves, so they are ended first.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearInterval(timer);
    const worker = this.worker;
    if (worker) {
      await worker.pause(true);
      // Jobs BullMQ was fetching as the pause began still arrive; process() hands those back at once.
      for (const session of this.sessions.values()) session.release();
      await worker.close();
    }
    await this.deps.subscriber.unsubscribe(this.deps.keys.cameraChanges).catch(() => undefined);
    await this.deps.health.workerGone(this.deps.config.worker.id).catch(() => undefined);
    this.log.info('ingest worker stopped');
  }

  private async process(
    job: Job<IngestJobData>,
    token: string | undefined,
    signal?: AbortSignal,
  ): Promise<string> {
    const { cameraId } = job.data;
    const session = new CameraSession(cameraId, {
      ...this.deps,
      workerId: this.deps.config.worker.id,
      metrics: this.metrics,
    });
    this.sessions.set(cameraId, session);
    if (this.closing) session.release();
    let end: Awaited<ReturnType<CameraSession['run']>>;
    try {
      end = await session.run(signal);
    } finally {
      this.sessions.delete(cameraId);
      this.metrics.forget(cameraId);
      session.summarizeWarnings(this.deps.config.ffmpeg.warningSummaryIntervalMs);
    }
    if (end !== 'released') return end;
    // Hand the camera back at once instead of letting its lock expire.
    await job
      .moveToWait(token)
      .catch((err: unknown) => this.log.debug({ err, cameraId }, 'job already gone'));
    throw new WaitingError();
  }

  /**
   * A camera disabled and enabled again (or deleted and re-created) while its old job was still ending:
   * the API's enqueue was ignored as a duplicate of that job. Now that the job is gone, enqueue it again.
   */
  private async requeueIfWanted(cameraId: string): Promise<void> {
    try {
      const camera = await this.deps.registry.get(cameraId);
      if (camera?.enabled) await this.deps.queue.ensure(cameraId);
    } catch (err) {
      this.log.warn({ err, cameraId }, 'could not re-check a finished camera job');
    }
  }

  private onLocksLost(jobIds: string[]): void {
    for (const session of this.sessions.values()) {
      if (jobIds.includes(ingestJobId(session.cameraId))) {
        this.log.warn(
          { cameraId: session.cameraId },
          'lost the lock on a camera job; stopping its ffmpeg now',
        );
        session.release();
      }
    }
  }

  private async refresh(cameraIds: string[]): Promise<void> {
    const owned = cameraIds.filter((id) => this.sessions.has(id));
    const cameras = await this.deps.registry.getMany(owned);
    for (const [i, id] of owned.entries()) this.sessions.get(id)?.refresh(cameras[i] ?? null);
  }

  private async beat(): Promise<void> {
    const { config, health } = this.deps;
    const reports = [...this.sessions.values()].flatMap((session) => {
      const report = session.report();
      return report ? [{ cameraId: session.cameraId, report }] : [];
    });
    const refused = await health.reportMany(config.worker.id, reports);
    for (const cameraId of refused) this.sessions.get(cameraId)?.lostToAnother();
    await health.workerBeat(config.worker.id, {
      host: hostname(),
      pid: process.pid,
      streams: this.sessions.size,
      maxStreams: config.worker.maxStreams,
      startedAtMs: this.startedAtMs,
    });
    await health.sweepStale();
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
