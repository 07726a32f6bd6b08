import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.js';
import { LuaScript } from '../redis/script.js';
import {
  HEALTH_STATUSES,
  type HealthReport,
  type HealthStatus,
  type HealthView,
  reportFields,
  toHealthView,
} from './record.js';

/*
 * Every status change goes through these scripts, which also keep the per-status counts, so the
 * deployment summary is a single HGETALL however many cameras there are. Times come from Redis's
 * clock (TIME), so hosts with skewed clocks still agree on whose heartbeat is stale.
 */
const NOW = `local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)`;
const MOVE_COUNT = `
local function move(counts, from, to)
  if from == to then return end
  if from then redis.call('HINCRBY', counts, from, -1) end
  if to then redis.call('HINCRBY', counts, to, 1) end
end`;

/** KEYS: health, counts, beats. ARGV: cameraId, status ('starting' | 'disabled'), lastError. */
const REGISTER = new LuaScript(
  `${NOW} ${MOVE_COUNT}
local old = redis.call('HGET', KEYS[1], 'status')
move(KEYS[2], old, ARGV[2])
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'sinceMs', now, 'workerId', '', 'heartbeatAtMs', now,
  'lastError', ARGV[3], 'fps', '', 'bitrateKbps', '')
if ARGV[2] == 'disabled' then redis.call('ZREM', KEYS[3], ARGV[1]) else redis.call('ZADD', KEYS[3], now, ARGV[1]) end
return 1`,
  3,
);

/** KEYS: health, counts, beats, cameras. ARGV: cameraId, workerId. Fails unless the camera exists and is enabled. */
const CLAIM = new LuaScript(
  `${NOW} ${MOVE_COUNT}
local camera = redis.call('HGET', KEYS[4], ARGV[1])
if not camera then return 'missing' end
if cjson.decode(camera).enabled == false then return 'disabled' end
local old = redis.call('HGET', KEYS[1], 'status')
move(KEYS[2], old, 'starting')
redis.call('HSET', KEYS[1], 'status', 'starting', 'sinceMs', now, 'workerId', ARGV[2], 'heartbeatAtMs', now,
  'lastError', '', 'fps', '', 'bitrateKbps', '')
redis.call('ZADD', KEYS[3], now, ARGV[1])
return 'ok'`,
  4,
);

/**
 * KEYS: health, counts, beats. ARGV: cameraId, workerId, status, restart (0|1), then field/value pairs.
 * Applies only for the owner, so a worker that lost a camera can never overwrite its new owner's truth.
 * Returns 1 when written, 0 when another worker owns the camera, -1 when nobody does (deleted, disabled).
 */
const REPORT = new LuaScript(
  `${NOW} ${MOVE_COUNT}
local owner = redis.call('HGET', KEYS[1], 'workerId')
if not owner or owner == '' then return -1 end
if owner ~= ARGV[2] then return 0 end
local old = redis.call('HGET', KEYS[1], 'status')
if old ~= ARGV[3] then
  move(KEYS[2], old, ARGV[3])
  redis.call('HSET', KEYS[1], 'status', ARGV[3], 'sinceMs', now)
end
if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[1], 'restarts', 1) end
redis.call('HSET', KEYS[1], 'heartbeatAtMs', now)
if #ARGV > 4 then redis.call('HSET', KEYS[1], unpack(ARGV, 5)) end
redis.call('ZADD', KEYS[3], now, ARGV[1])
return 1`,
  3,
);

/** KEYS: health, counts, beats. ARGV: cameraId, workerId, reason. The owner lets go (shutdown, hand-over). */
const RELEASE = new LuaScript(
  `${NOW} ${MOVE_COUNT}
if redis.call('HGET', KEYS[1], 'workerId') ~= ARGV[2] then return 0 end
local old = redis.call('HGET', KEYS[1], 'status')
move(KEYS[2], old, 'offline')
redis.call('HSET', KEYS[1], 'status', 'offline', 'sinceMs', now, 'workerId', '', 'heartbeatAtMs', now,
  'lastError', ARGV[3], 'fps', '', 'bitrateKbps', '')
redis.call('ZADD', KEYS[3], now, ARGV[1])
return 1`,
  3,
);

/** KEYS: health, counts, beats. ARGV: cameraId. */
const REMOVE = new LuaScript(
  `${MOVE_COUNT}
local old = redis.call('HGET', KEYS[1], 'status')
move(KEYS[2], old, nil)
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return old and 1 or 0`,
  3,
);

/**
 * KEYS: beats, counts, cameras. ARGV: key prefix, staleMs, limit. Marks cameras whose worker went silent
 * offline (persisting what reads already show), and drops records of cameras deleted behind our back.
 */
const SWEEP = new LuaScript(
  `${NOW} ${MOVE_COUNT}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]), 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  local key = ARGV[1] .. ':health:' .. id
  local old = redis.call('HGET', key, 'status')
  if redis.call('HEXISTS', KEYS[3], id) == 0 then
    move(KEYS[2], old, nil)
    redis.call('DEL', key)
  elseif old and old ~= 'offline' and old ~= 'disabled' then
    move(KEYS[2], old, 'offline')
    local worker = redis.call('HGET', key, 'workerId')
    local reason = 'no worker has taken this camera'
    if worker and worker ~= '' then reason = 'worker ' .. worker .. ' stopped reporting' end
    redis.call('HSET', key, 'status', 'offline', 'sinceMs', now, 'lastError', reason, 'fps', '', 'bitrateKbps', '')
  end
  redis.call('ZREM', KEYS[1], id)
end
return #ids`,
  3,
);

/** KEYS: workers, worker. ARGV: workerId, ttlMs, then field/value pairs. */
const WORKER_BEAT = new LuaScript(
  `${NOW}
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 86400000)
if #ARGV > 2 then redis.call('HSET', KEYS[2], unpack(ARGV, 3)) end
redis.call('HSET', KEYS[2], 'heartbeatAtMs', now)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]))
return now`,
  2,
);

const SWEEP_BATCH = 500;

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
    for (const script of [REGISTER, CLAIM, REPORT, RELEASE, REMOVE, SWEEP, WORKER_BEAT])
      await script.load(this.redis);
  }

  /** A new or re-enabled camera waits for a worker in `starting`; a disabled one is `disabled`. */
  async register(cameraId: string, enabled: boolean): Promise<void> {
    await REGISTER.run(this.redis, this.cameraKeys(cameraId), [
      cameraId,
      enabled ? 'starting' : 'disabled',
      '',
    ]);
  }

  async remove(cameraId: string): Promise<void> {
    await REMOVE.run(this.redis, this.cameraKeys(cameraId), [cameraId]);
  }

  /** A worker takes a camera. Refused if it was deleted or disabled meanwhile. */
  async claim(cameraId: string, workerId: string): Promise<ClaimResult['outcome']> {
    const keys = [...this.cameraKeys(cameraId), this.keys.cameras];
    return (await CLAIM.run(this.redis, keys, [cameraId, workerId])) as ClaimResult['outcome'];
  }

  /** Writes a worker's report: 'written', or why not ('taken' by another worker, or 'unowned'). */
  async report(
    cameraId: string,
    workerId: string,
    report: HealthReport,
    restart = false,
  ): Promise<ReportResult> {
    const args = [cameraId, workerId, report.status, restart ? '1' : '0', ...reportFields(report)];
    return reportResult(await REPORT.run(this.redis, this.cameraKeys(cameraId), args));
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
      const args = [cameraId, workerId, report.status, '0', ...reportFields(report)];
      REPORT.queue(pipeline, this.cameraKeys(cameraId), args);
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
    await RELEASE.run(this.redis, this.cameraKeys(cameraId), [cameraId, workerId, reason]);
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
      const swept = Number(
        await SWEEP.run(
          this.redis,
          [this.keys.healthBeats, this.keys.healthCounts, this.keys.cameras],
          [this.keys.prefix, this.staleMs, SWEEP_BATCH],
        ),
      );
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

  private cameraKeys(cameraId: string): [string, string, string] {
    return [this.keys.health(cameraId), this.keys.healthCounts, this.keys.healthBeats];
  }
}

export type ReportResult = 'written' | 'taken' | 'unowned';

function reportResult(reply: unknown): ReportResult {
  return reply === 1 ? 'written' : reply === 0 ? 'taken' : 'unowned';
}

function redisTimeMs([seconds, micros]: [string, string]): number {
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
