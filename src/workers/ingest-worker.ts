import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DelayedError, type Job, Worker } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import type { Registry } from 'prom-client';
import { advertisedHost } from '../advertised-host.js';
import type { Camera } from '../cameras/camera.js';
import type { Demand } from '../cameras/demand.js';
import type { CameraRegistry } from '../cameras/registry.js';
import type { CameraSources } from '../cameras/sources.js';
import type { Config } from '../config/schema.js';
import type { ClaimResult, HealthStore } from '../health/store.js';
import { killOrphans } from '../ingest/orphans.js';
import { clearOutput, listOutputDirs, outputDirFor } from '../ingest/output-dir.js';
import type { SupervisorFactory } from '../ingest/supervisor.js';
import type { LiveStreams } from '../llhls/live-streams.js';
import type { Logger } from '../log.js';
import type { PushSources } from '../push/push-sources.js';
import type { RedisKeys } from '../redis/keys.js';
import { CameraSession, type SessionEnd } from './camera-session.js';
import { INGEST_QUEUE, type IngestJobData, type IngestQueue } from './ingest-queue.js';
import type { LapseSweeper } from './lapse-sweeper.js';
import { WorkerMetrics } from './worker-metrics.js';

/** How often sessions re-read their cameras, in case a change message was missed. */
const REFRESH_INTERVAL_MS = 5000;
const SWEEP_INTERVAL_MS = 1000;
const FENCE_CHECK_MS = 250;
const IDLE_CHECK_MS = 5000;
const EVENT_LOOP_CHECK_MS = 10_000;
/** Start commands handled at once; each takes its cameras' leases in one call and spawns their supervisors. */
const START_CONCURRENCY = 8;
/** A start command this worker cannot take (full, closing) goes back for others after this long. */
const REQUEUE_DELAY_MS = 1000;
/** Two renewals can fail or be slow before a worker fences itself (at two thirds of a lease). */
const RENEWALS_PER_LEASE = 4;

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
  push: PushSources;
  createSupervisor: SupervisorFactory;
  /** LL-HLS mode: the streams this process serves from memory. */
  liveStreams: LiveStreams | null;
  demand: Demand;
  sweeper: LapseSweeper;
}

/**
 * A worker holds cameras by lease, not by never-ending jobs: BullMQ carries short "start camera X"
 * commands to whichever worker has room, and the worker then holds the camera's lease in Redis, renewing
 * all of its leases in a few script calls every quarter of CAMERA_LEASE_TTL_MS. A camera whose lease runs out (its
 * worker died) is swept by any worker and started again elsewhere. A worker that cannot renew for two
 * thirds of a lease stops every ffmpeg it runs before anyone else may take them: there is never a second
 * writer.
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
  /** Cameras being claimed right now, not yet in `sessions`. */
  private readonly claiming = new Set<string>();
  private readonly claimsInFlight = new Set<Promise<unknown>>();
  /** Local time of the last renewal that Redis confirmed (sent at this time). */
  private renewedAtMs = Date.now();
  /** Where relays fetch this worker's HLS; known once its HTTP server listens. */
  private hlsUrl: string | null = null;
  private readonly eventLoopDelay = monitorEventLoopDelay({ resolution: 20 });

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
    await subscriber.subscribe(keys.cameraChanges, keys.pushPublished);
    subscriber.on('message', (channel, cameraId) => {
      if (channel === keys.cameraChanges) void this.refresh([cameraId]);
      if (channel === keys.pushPublished) this.sessions.get(cameraId)?.session.sourcePublished();
    });
    await this.beat();
    const leaseMs = config.health.leaseMs;
    this.every(leaseMs / RENEWALS_PER_LEASE, () => this.renew());
    this.every(FENCE_CHECK_MS, async () => this.fence());
    this.every(SWEEP_INTERVAL_MS, async () => {
      await this.deps.sweeper.sweep();
    });
    this.every(config.health.publishIntervalMs, () => this.beat());
    this.every(REFRESH_INTERVAL_MS, () => this.refresh(this.activeCameraIds));
    this.every(IDLE_CHECK_MS, () => this.stopIdle());
    this.watchEventLoop();
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
      // A start command held by a worker that died is only late, never wrong: run it again, never fail it.
      maxStalledCount: 1_000_000,
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
    this.eventLoopDelay.disable();
    await this.consumer?.pause(true);
    await Promise.allSettled([...this.claimsInFlight]);
    const running = [...this.sessions.values()];
    for (const { session } of running) session.release();
    await Promise.all(running.map(({ done }) => done));
    await this.consumer?.close();
    await this.deps.subscriber
      .unsubscribe(this.deps.keys.cameraChanges, this.deps.keys.pushPublished)
      .catch(() => undefined);
    await this.deps.health.workerGone(this.id).catch(() => undefined);
    this.log.info('ingest worker stopped');
  }

  /**
   * A start command: take the leases of as many of its cameras as this worker has room for and start them;
   * the rest go back in a new command for another worker (or, when this one has no room at all, the whole
   * command waits a moment).
   */
  private async onStart(job: Job<IngestJobData>, token: string | undefined): Promise<string> {
    const ids = job.data.cameraIds;
    const runningHere = ids.filter((id) => this.sessions.get(id)?.session.isEnding === false);
    await this.refresh(runningHere);
    const others = ids.filter((id) => !runningHere.includes(id));
    await Promise.all(others.map((id) => this.sessions.get(id)?.done));
    // Checked after the wait: another command may have claimed or started some of them meanwhile, and a
    // second session for one camera would be a second ffmpeg.
    const wanted = others.filter((id) => !this.sessions.has(id) && !this.claiming.has(id));
    if (wanted.length === 0) return 'running here';
    const room = this.closing
      ? 0
      : this.deps.config.worker.maxStreams - this.sessions.size - this.claiming.size;
    if (room <= 0) {
      await job.moveToDelayed(Date.now() + REQUEUE_DELAY_MS, token);
      throw new DelayedError();
    }
    const take = wanted.slice(0, room);
    const claims = await this.claimAndLaunch(take);
    if (wanted.length > take.length) await this.deps.queue.ensureMany(wanted.slice(take.length));
    return countBy(claims);
  }

  /**
   * Claims count against room while in flight, so concurrent commands never overfill this worker, and
   * close() waits for them, so no camera starts after it has handed the others back.
   */
  private async claimAndLaunch(cameraIds: string[]): Promise<ClaimResult[]> {
    for (const id of cameraIds) this.claiming.add(id);
    const claimed = this.deps.health.claimMany(cameraIds, this.id).then((claims) => {
      cameraIds.forEach((id, i) => {
        if (claims[i] === 'ok') this.launch(id);
      });
      return claims;
    });
    this.claimsInFlight.add(claimed);
    try {
      return await claimed;
    } finally {
      this.claimsInFlight.delete(claimed);
      for (const id of cameraIds) this.claiming.delete(id);
    }
  }

  private launch(cameraId: string): void {
    if (this.sessions.has(cameraId)) {
      this.log.error({ cameraId }, 'camera is running here already; not starting it twice');
      return;
    }
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
    const tookMs = Date.now() - sentAtMs;
    if (lost.length > 0 || tookMs > this.deps.config.health.leaseMs / RENEWALS_PER_LEASE) {
      this.log.warn(
        { cameras: ids.length, lost: lost.length, tookMs },
        'lease renewal was slow or lost cameras',
      );
    }
    if (lost.length > 0) await this.settleLost(lost);
  }

  /**
   * A lease can be gone because another worker holds the camera (its ffmpeg must stop now: never two
   * writers), or because the camera was deleted or disabled a moment before its change message arrived:
   * then nobody else writes, and the session ends as the registry says, clearing its output.
   */
  private async settleLost(cameraIds: string[]): Promise<void> {
    let owners: Array<string | null>;
    let cameras: Array<Camera | null>;
    try {
      [owners, cameras] = await Promise.all([
        this.deps.health.owners(cameraIds),
        this.deps.registry.getMany(cameraIds),
      ]);
    } catch {
      for (const cameraId of cameraIds) this.sessions.get(cameraId)?.session.lostToAnother();
      return;
    }
    cameraIds.forEach((cameraId, i) => {
      const session = this.sessions.get(cameraId)?.session;
      const camera = cameras[i] ?? null;
      if (!owners[i] && !camera?.enabled) session?.refresh(camera);
      else session?.lostToAnother();
    });
  }

  /**
   * Fencing: a worker that could not renew for two thirds of a lease stops all its ffmpeg, before the lease
   * can run out and another worker take the cameras. Keeping one writer per camera matters more than
   * staying up. The lease in Redis runs from when Redis ran the last renewal, which is after it was sent,
   * so the last third is the margin for killing ffmpeg and for a timer that fires late.
   */
  private fence(): void {
    const silentMs = Date.now() - this.renewedAtMs;
    if (this.sessions.size === 0 || silentMs <= (this.deps.config.health.leaseMs * 2) / 3) return;
    this.log.error(
      { silentMs, cameras: this.sessions.size },
      'cannot renew camera leases; stopping every ffmpeg',
    );
    for (const { session } of this.sessions.values()) session.lose();
  }

  /**
   * A worker too busy to run its timers cannot renew in time and loses its cameras; the warning says why,
   * where otherwise operators would only see cameras moving between workers.
   */
  private watchEventLoop(): void {
    const delay = this.eventLoopDelay;
    delay.enable();
    const warnAboveMs = this.deps.config.health.leaseMs / 6;
    this.every(EVENT_LOOP_CHECK_MS, async () => {
      const maxMs = delay.max / 1e6;
      delay.reset();
      if (maxMs > warnAboveMs)
        this.log.warn({ maxMs: Math.round(maxMs), cameras: this.sessions.size }, 'event loop lagging');
    });
  }

  /** Stops on-demand cameras nobody has asked for within ON_DEMAND_IDLE_SEC. */
  private async stopIdle(): Promise<void> {
    const idleMs = this.deps.config.onDemand.idleSec * 1000;
    const since = Date.now() - idleMs;
    const candidates = [...this.sessions.values()]
      .map(({ session }) => session)
      .filter((session) => session.mode === 'on-demand' && session.startedAtMs < since && !session.isEnding);
    if (candidates.length === 0) return;
    const watched = await this.deps.demand.since(
      candidates.map((session) => session.cameraId),
      since,
    );
    candidates.forEach((session, i) => {
      if (!watched[i]) session.idle();
    });
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
  return `${scheme}://${advertisedHost(config.http.host)}:${boundPort}`;
}

/** "ok 98, held 2": what a start command did, for BullMQ's return value. */
function countBy(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].map(([value, count]) => `${value} ${count}`).join(', ');
}
