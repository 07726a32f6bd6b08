import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.js';
import type { LuaScript } from '../redis/script.js';
import { type StatusEvent, type StreamEntry, toStatusEvent } from './events.js';
import {
  HEALTH_STATUSES,
  type HealthReport,
  type HealthStatus,
  type HealthView,
  reportFields,
  toHealthView,
} from './record.js';
import { ALL_SCRIPTS, CLAIM, REGISTER, RELEASE, REMOVE, REPORT, SWEEP, WORKER_BEAT } from './scripts.js';

const SWEEP_BATCH = 500;
/** Status changes kept for the whole deployment (the SSE resume window) and per camera (its history). */
const EVENTS_MAX_LENGTH = 10_000;
const HISTORY_MAX_LENGTH = 50;

export interface HealthSummary {
  total: number;
  byStatus: Record<HealthStatus | 'unknown', number>;
  workers: { live: number };
}

export interface ClaimResult {
  outcome: 'ok' | 'missing' | 'disabled';
}

/** The actual state of every camera in Redis: written by workers, read by the relay. */
export class HealthStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly staleMs: number,
  ) {}

  /** Loads every script, so reports can be pipelined with EVALSHA. */
  async load(): Promise<void> {
    for (const script of ALL_SCRIPTS) await script.load(this.redis);
  }

  /** A new or re-enabled camera waits for a worker in `starting`; a disabled one is `disabled`. */
  async register(cameraId: string, enabled: boolean): Promise<void> {
    await this.run(REGISTER, [], [cameraId, enabled ? 'starting' : 'disabled']);
  }

  async remove(cameraId: string): Promise<void> {
    await this.run(REMOVE, [], [cameraId]);
  }

  /** A worker takes a camera. Refused if it was deleted or disabled meanwhile. */
  async claim(cameraId: string, workerId: string): Promise<ClaimResult['outcome']> {
    return (await this.run(CLAIM, [this.keys.cameras], [cameraId, workerId])) as ClaimResult['outcome'];
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
   * Many reports in one round trip: the periodic heartbeat of a worker. Returns the cameras another worker
   * owns now.
   */
  async reportMany(
    workerId: string,
    reports: ReadonlyArray<{ cameraId: string; report: HealthReport }>,
  ): Promise<string[]> {
    if (reports.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const { cameraId, report } of reports) {
      REPORT.queue(pipeline, this.commonKeys(), [
        ...this.commonArgs(),
        ...this.reportArgs(cameraId, workerId, report, {}),
      ]);
    }
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed?.[0]?.message.startsWith('NOSCRIPT')) {
      await this.load();
      return this.reportMany(workerId, reports);
    }
    if (failed?.[0]) throw failed[0];
    return reports
      .filter((_, i) => reportResult(results?.[i]?.[1]) === 'taken')
      .map(({ cameraId }) => cameraId);
  }

  async release(cameraId: string, workerId: string, reason: string): Promise<void> {
    await this.run(RELEASE, [], [cameraId, workerId, reason]);
  }

  async get(cameraId: string): Promise<HealthView | null> {
    const results = await this.redis.multi().time().hgetall(this.keys.health(cameraId)).exec();
    const [time, fields] = (results ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    }) as [[string, string], Record<string, string>];
    if (!fields || Object.keys(fields).length === 0) return null;
    return toHealthView(cameraId, fields, redisTimeMs(time), this.staleMs);
  }

  /** What to show for a camera that has no record yet (created while Redis or a write failed). */
  unrecorded(cameraId: string): HealthView {
    const fields = { status: 'offline', lastError: 'no health recorded for this camera yet' };
    return toHealthView(cameraId, fields, Date.now(), this.staleMs);
  }

  /** Raw stored fields, for the worker's codec hint. */
  async fields(cameraId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.health(cameraId));
  }

  /** Persists offline for every camera whose worker went silent; returns how many records it touched. */
  async sweepStale(): Promise<number> {
    let total = 0;
    for (;;) {
      const swept = Number(await this.run(SWEEP, [this.keys.cameras], [this.staleMs, SWEEP_BATCH]));
      total += swept;
      if (swept < SWEEP_BATCH) return total;
    }
  }

  /** Counts by status from the kept aggregates (after a sweep, so none of them is a stale `online`). */
  async summary(): Promise<HealthSummary> {
    await this.sweepStale();
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
    const live = await this.redis.zcount(this.keys.workers, nowMs - this.staleMs, '+inf');
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
      [workerId, this.staleMs * 10, ...pairs],
    );
  }

  async workerGone(workerId: string): Promise<void> {
    await this.redis.multi().zrem(this.keys.workers, workerId).del(this.keys.worker(workerId)).exec();
  }

  /** A camera's recent status changes, newest first. */
  async history(cameraId: string, limit: number): Promise<StatusEvent[]> {
    const entries = (await this.redis.xrevrange(
      `${this.keys.historyPrefix}${cameraId}`,
      '+',
      '-',
      'COUNT',
      limit,
    )) as StreamEntry[];
    return entries.map(toStatusEvent);
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
    return [this.keys.healthCounts, this.keys.healthBeats, this.keys.events];
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
    const flags = [change.restart ? '1' : '0', change.reason ?? ''];
    return [cameraId, workerId, report.status, ...flags, ...reportFields(report)];
  }
}

export type ReportResult = 'written' | 'taken' | 'unowned';

function reportResult(reply: unknown): ReportResult {
  return reply === 1 ? 'written' : reply === 0 ? 'taken' : 'unowned';
}

function redisTimeMs([seconds, micros]: [string, string]): number {
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
