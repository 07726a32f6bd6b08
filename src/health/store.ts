import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.js';
import type { LuaScript } from '../redis/script.js';
import { historyEvent, type StatusEvent, type StreamEntry, toStatusEvent } from './events.js';
import {
  HEALTH_STATUSES,
  type HealthReport,
  type HealthStatus,
  type HealthView,
  reportFields,
  toHealthView,
} from './record.js';
import {
  ALL_SCRIPTS,
  CLAIM,
  REGISTER,
  RELEASE,
  REMOVE,
  RENEW,
  REPORT,
  REPORT_MANY,
  SWEEP,
  WORKER_BEAT,
} from './scripts.js';

const SWEEP_BATCH = 200;
const PIPELINE_BATCH = 500;
const REPORT_BATCH = 500;
const RENEW_BATCH = 2000;
/** Status changes kept for the whole deployment (the SSE resume window) and per camera (its history). */
const EVENTS_MAX_LENGTH = 10_000;
const HISTORY_MAX_LENGTH = 50;

export interface HealthSummary {
  total: number;
  byStatus: Record<HealthStatus | 'unknown', number>;
  workers: { live: number };
}

export type ClaimResult = 'ok' | 'held' | 'missing' | 'disabled';
export type ReportResult = 'written' | 'taken' | 'unowned';

/**
 * The actual state of every camera in Redis, and who ingests it: written by workers, read by the relay.
 * `leaseMs` is how long a worker's hold on a camera lasts without renewal (CAMERA_LEASE_TTL_MS);
 * `startWaitMs` how long a new camera may wait for a worker before it reads offline (CAMERA_START_WAIT_MS).
 */
export class HealthStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly times: { leaseMs: number; startWaitMs: number; publishIntervalMs: number },
    /** A connection of its own for lease renewals (workers), so they never queue behind other traffic. */
    private readonly leaseRedis: Redis = redis,
  ) {}

  /** Loads every script, so calls can be pipelined with EVALSHA. */
  async load(): Promise<void> {
    for (const script of ALL_SCRIPTS) await script.load(this.redis);
  }

  /**
   * A new or re-enabled camera waits for a worker in `starting`, or for a viewer in `idle` (on demand); a
   * disabled one is `disabled`.
   */
  async register(cameraId: string, status: 'starting' | 'idle' | 'disabled'): Promise<void> {
    await this.run(REGISTER, [], [cameraId, status, this.times.startWaitMs]);
  }

  /** Registers many cameras in few round trips, for imports. */
  async registerMany(entries: ReadonlyArray<{ cameraId: string; status: 'starting' | 'idle' | 'disabled' }>) {
    for (let i = 0; i < entries.length; i += PIPELINE_BATCH) {
      const pipeline = this.redis.pipeline();
      for (const { cameraId, status } of entries.slice(i, i + PIPELINE_BATCH)) {
        REGISTER.queue(pipeline, this.commonKeys(), [
          ...this.commonArgs(),
          cameraId,
          status,
          this.times.startWaitMs,
        ]);
      }
      const failed = (await pipeline.exec())?.find(([err]) => err);
      if (failed?.[0]) throw failed[0];
    }
  }

  async remove(cameraId: string): Promise<void> {
    await this.run(REMOVE, [], [cameraId]);
  }

  /** A worker takes a camera and its lease. Refused if deleted, disabled, or held by another live worker. */
  async claim(cameraId: string, workerId: string): Promise<ClaimResult> {
    const [result] = await this.claimMany([cameraId], workerId);
    return result as ClaimResult;
  }

  /** Takes many cameras in one call: the answers, in order. */
  async claimMany(cameraIds: readonly string[], workerId: string): Promise<ClaimResult[]> {
    if (cameraIds.length === 0) return [];
    const args = [workerId, this.times.leaseMs, ...cameraIds];
    return (await this.run(CLAIM, [this.keys.cameras], args)) as ClaimResult[];
  }

  /** Renews a worker's leases, 2,000 to a script call; returns the cameras it does not own any more. */
  async renew(workerId: string, cameraIds: readonly string[]): Promise<string[]> {
    const lost: string[] = [];
    // In batches, over the lease connection: no script holds Redis long, and no other traffic of this
    // process (a large report pipeline) waits in front of a renewal.
    for (let i = 0; i < cameraIds.length; i += RENEW_BATCH) {
      const batch = cameraIds.slice(i, i + RENEW_BATCH);
      const args = [...this.commonArgs(), workerId, this.times.leaseMs, ...batch];
      lost.push(...((await RENEW.run(this.leaseRedis, this.commonKeys(), args)) as string[]));
    }
    return lost;
  }

  /**
   * Writes a worker's report: 'written', or why not ('taken' by another worker, or 'unowned'). `reason` goes
   * with a status change into the event stream.
   */
  async report(
    cameraId: string,
    workerId: string,
    report: HealthReport,
    change: { restart?: boolean; reason?: string | null } = {},
  ): Promise<ReportResult> {
    return reportResult(await this.run(REPORT, [], this.reportArgs(cameraId, workerId, report, change)));
  }

  /**
   * A worker's periodic reports, in batches of one script call each (so neither Redis nor this process is
   * held long by one); returns the cameras another worker owns now.
   */
  async reportMany(
    workerId: string,
    reports: ReadonlyArray<{ cameraId: string; report: HealthReport }>,
  ): Promise<string[]> {
    const taken: string[] = [];
    for (let i = 0; i < reports.length; i += REPORT_BATCH) {
      const args: Array<string | number> = [workerId];
      for (const { cameraId, report } of reports.slice(i, i + REPORT_BATCH)) {
        const fields = reportFields(report);
        args.push(cameraId, report.status, report.statusSeq ?? '', fields.length, ...fields);
      }
      taken.push(...((await this.run(REPORT_MANY, [], args)) as string[]));
    }
    return taken;
  }

  /** The owner lets go: handed back for another worker ('offline'), or nobody watches it ('idle'). */
  async release(
    cameraId: string,
    workerId: string,
    status: 'offline' | 'idle',
    reason: string,
  ): Promise<void> {
    await this.run(RELEASE, [], [cameraId, workerId, status, reason, this.times.leaseMs]);
  }

  async get(cameraId: string): Promise<HealthView | null> {
    const [view] = await this.getMany([cameraId]);
    return view ?? null;
  }

  /**
   * Many cameras' health, in order; null for a camera with no record. One transaction with Redis's clock,
   * so a lease is judged lapsed or not at the very moment its record is read.
   */
  async getMany(cameraIds: readonly string[]): Promise<Array<HealthView | null>> {
    const transaction = this.redis.multi().time();
    for (const id of cameraIds)
      transaction.hgetall(this.keys.health(id)).zscore(this.keys.healthDeadlines, id);
    const values = ((await transaction.exec()) ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    const nowMs = redisTimeMs(values[0] as [string, string]);
    return cameraIds.map((id, i) => {
      const fields = values[1 + 2 * i] as Record<string, string> | null;
      const deadline = values[2 + 2 * i] as string | null;
      if (!fields || Object.keys(fields).length === 0) return null;
      return toHealthView(id, fields, deadline === null ? null : Number(deadline), nowMs);
    });
  }

  /** What to show for a camera that has no record yet (created while Redis or a write failed). */
  unrecorded(cameraId: string): HealthView {
    const fields = { status: 'offline', lastError: 'no health recorded for this camera yet' };
    return toHealthView(cameraId, fields, null, Date.now());
  }

  /** Raw stored fields, for the worker's codec hint. */
  /** Which worker holds each camera now (null: none, or no record), in one round trip. */
  async owners(cameraIds: readonly string[]): Promise<Array<string | null>> {
    const pipeline = this.redis.pipeline();
    for (const id of cameraIds) pipeline.hget(this.keys.health(id), 'workerId');
    const results = (await pipeline.exec()) ?? [];
    return cameraIds.map((_, i) => {
      const [err, owner] = results[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      return (owner as string | null) || null;
    });
  }

  async fields(cameraId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.health(cameraId));
  }

  /**
   * Frees every camera whose deadline passed (its worker stopped renewing, or none took it), marking it
   * offline; returns the ids of those still registered, to be started again.
   */
  async sweep(): Promise<string[]> {
    const freed: string[] = [];
    for (;;) {
      const batch = (await this.run(SWEEP, [this.keys.cameras], [SWEEP_BATCH])) as string[];
      freed.push(...batch);
      if (batch.length < SWEEP_BATCH) return freed;
    }
  }

  /**
   * Counts by status from the kept aggregates. Sweep first (LapseSweeper), so none of them is a lapsed
   * `online`.
   */
  async summary(): Promise<HealthSummary> {
    const results = await this.redis
      .multi()
      .time()
      .hgetall(this.keys.healthCounts)
      .zcard(this.keys.cameraIndex)
      .exec();
    const [time, counts, total] = (results ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    }) as [[string, string], Record<string, string>, number];
    const nowMs = redisTimeMs(time);
    // Workers beat with their health reports, every HEALTH_PUBLISH_INTERVAL_MS: a window shorter than two of
    // those would count a live worker as gone between beats.
    const windowMs = Math.max(this.times.leaseMs, 2 * this.times.publishIntervalMs);
    const live = await this.redis.zcount(this.keys.workers, nowMs - windowMs, '+inf');
    const byStatus = Object.fromEntries(
      HEALTH_STATUSES.map((s) => [s, Math.max(0, Number(counts[s] ?? 0))]),
    ) as Record<HealthStatus | 'unknown', number>;
    const known = HEALTH_STATUSES.reduce((sum, s) => sum + byStatus[s], 0);
    byStatus.unknown = Math.max(0, total - known);
    return { total, byStatus, workers: { live } };
  }

  async workerBeat(workerId: string, info: Record<string, string | number>): Promise<void> {
    const pairs = Object.entries(info).flatMap(([key, value]) => [key, String(value)]);
    await WORKER_BEAT.run(
      this.redis,
      [this.keys.workers, this.keys.worker(workerId)],
      [workerId, this.times.leaseMs * 10, ...pairs],
    );
  }

  async workerGone(workerId: string): Promise<void> {
    await this.redis.multi().zrem(this.keys.workers, workerId).del(this.keys.worker(workerId)).exec();
  }

  /** A camera's recent status changes, newest first. */
  async history(cameraId: string, limit: number): Promise<StatusEvent[]> {
    const entries = await this.redis.lrange(`${this.keys.historyPrefix}${cameraId}`, 0, limit - 1);
    return entries.map(historyEvent);
  }

  /** Deployment events after `afterId` (exclusive), oldest first. */
  async eventsAfter(afterId: string, limit: number): Promise<StatusEvent[]> {
    const entries = (await this.redis.xrange(
      this.keys.events,
      `(${afterId}`,
      '+',
      'COUNT',
      limit,
    )) as StreamEntry[];
    return entries.map(toStatusEvent);
  }

  private run(script: LuaScript, extraKeys: string[], args: Array<string | number>): Promise<unknown> {
    return script.run(this.redis, [...this.commonKeys(), ...extraKeys], [...this.commonArgs(), ...args]);
  }

  private commonKeys(): string[] {
    return [this.keys.healthCounts, this.keys.healthDeadlines, this.keys.events];
  }

  private commonArgs(): Array<string | number> {
    return [this.keys.healthPrefix, this.keys.historyPrefix, EVENTS_MAX_LENGTH, HISTORY_MAX_LENGTH];
  }

  private reportArgs(
    cameraId: string,
    workerId: string,
    report: HealthReport,
    change: { restart?: boolean; reason?: string | null },
  ): string[] {
    const flags = [change.restart ? '1' : '0', change.reason ?? '', String(report.statusSeq ?? '')];
    return [cameraId, workerId, report.status, ...flags, ...reportFields(report)];
  }
}

function reportResult(reply: unknown): ReportResult {
  return reply === 1 ? 'written' : reply === 0 ? 'taken' : 'unowned';
}

function redisTimeMs([seconds, micros]: [string, string]): number {
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
