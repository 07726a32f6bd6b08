import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CameraRegistry } from '../../src/cameras/registry.js';
import { HealthStore } from '../../src/health/store.js';
import { redisOptionsFromUrl } from '../../src/redis/connection.js';
import { redisKeys } from '../../src/redis/keys.js';
import { sleep } from '../support/wait.js';

const LEASE_MS = 1000;

/** The health scripts on a real Redis: leases (who ingests a camera), liveness, and counts that stay right. */
describe('HealthStore', () => {
  let redis: Redis;
  const keys = redisKeys(`t-${randomBytes(4).toString('hex')}`);
  let health: HealthStore;
  let registry: CameraRegistry;

  beforeAll(async () => {
    redis = new Redis(redisOptionsFromUrl(inject('redisUrl')));
    health = new HealthStore(redis, keys, {
      leaseMs: LEASE_MS,
      startWaitMs: LEASE_MS,
      publishIntervalMs: LEASE_MS / 2,
    });
    registry = new CameraRegistry(redis, keys);
    await health.load();
  });
  afterAll(async () => {
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length > 0) await redis.del(...found);
    redis.disconnect();
  });

  async function camera(id: string, enabled = true) {
    await registry.create({
      id,
      name: id,
      sealedUrl: 'not needed by these scripts',
      maskedUrl: 'rtsp://127.0.0.1/x',
      mode: 'always',
      transcode: 'auto',
      rtspTransport: 'tcp',
      enabled,
    });
    await health.register(id, enabled ? 'starting' : 'disabled');
  }

  it('gives a camera to one worker at a time: held while its lease runs, free once it lapses', async () => {
    await camera('owned');
    expect(await health.claim('owned', 'w1')).toBe('ok');
    expect(await health.report('owned', 'w1', { status: 'online', fps: 25 })).toBe('written');
    expect(await health.claim('owned', 'w2')).toBe('held');
    expect(await health.report('owned', 'w2', { status: 'offline' })).toBe('taken');
    await sleep(LEASE_MS + 100);
    expect(await health.claim('owned', 'w2')).toBe('ok');
    // The old owner learns it lost the camera from its next renewal or report, and stops.
    expect(await health.renew('w1', ['owned'])).toEqual(['owned']);
    // …and whether someone else holds it now (stop at once) or nobody does (deleted or disabled).
    expect(await health.owners(['owned', 'never-registered'])).toEqual(['w2', null]);
    expect(await health.report('owned', 'w1', { status: 'online' })).toBe('taken');
    expect(await health.reportMany('w1', [{ cameraId: 'owned', report: { status: 'online' } }])).toEqual([
      'owned',
    ]);
    expect((await health.get('owned'))?.workerId).toBe('w2');
  });

  it('writes the periodic reports of a worker in one call: its own cameras only, counting status changes', async () => {
    for (const id of ['mine-1', 'mine-2', 'theirs', 'nobodys']) await camera(id);
    for (const id of ['mine-1', 'mine-2']) await health.claim(id, 'w-mine');
    await health.claim('theirs', 'w-theirs');
    await health.report('theirs', 'w-theirs', { status: 'online', fps: 12 });
    const before = (await health.summary()).byStatus;
    const taken = await health.reportMany('w-mine', [
      { cameraId: 'mine-1', report: { status: 'online', fps: 25, bitrateKbps: 900, lastSegmentAtMs: 1000 } },
      { cameraId: 'mine-2', report: { status: 'starting' } },
      { cameraId: 'theirs', report: { status: 'stalled', fps: 0 } },
      { cameraId: 'nobodys', report: { status: 'online', fps: 30 } },
    ]);
    expect(taken).toEqual(['theirs']);
    expect(await health.get('mine-1')).toMatchObject({ status: 'online', fps: 25, bitrateKbps: 900 });
    expect(await health.get('mine-2')).toMatchObject({ status: 'starting', fps: null });
    expect(await health.get('theirs')).toMatchObject({ status: 'online', fps: 12, workerId: 'w-theirs' });
    expect(await health.get('nobodys')).toMatchObject({ status: 'starting', fps: null });
    const after = (await health.summary()).byStatus;
    expect([after.online - before.online, after.starting - before.starting]).toEqual([1, -1]);
  });

  it('drops a report older than the last one written: a late periodic "online" never hides a "stalled"', async () => {
    await camera('seq');
    await health.claim('seq', 'w-seq');
    await health.report('seq', 'w-seq', { status: 'online', statusSeq: 2, fps: 25 });
    await health.report('seq', 'w-seq', { status: 'stalled', statusSeq: 3, lastError: 'frozen' });
    // Taken before the stall, arriving after it: one alone, and one in a worker's batch.
    expect(await health.report('seq', 'w-seq', { status: 'online', statusSeq: 2, fps: 25 })).toBe('written');
    await health.reportMany('w-seq', [
      { cameraId: 'seq', report: { status: 'online', statusSeq: 2, fps: 25 } },
    ]);
    expect(await health.get('seq')).toMatchObject({ status: 'stalled', lastError: 'frozen' });
    await health.reportMany('w-seq', [
      { cameraId: 'seq', report: { status: 'stalled', statusSeq: 3, lastError: 'still frozen' } },
    ]);
    expect(await health.get('seq')).toMatchObject({ status: 'stalled', lastError: 'still frozen' });
    // A new session (a new claim) counts from zero again.
    await sleep(LEASE_MS + 100);
    await health.claim('seq', 'w-next');
    await health.report('seq', 'w-next', { status: 'online', statusSeq: 1, fps: 24 });
    expect(await health.get('seq')).toMatchObject({ status: 'online', fps: 24, workerId: 'w-next' });
  });

  it('keeps a camera while its worker renews, in one call for all its cameras', async () => {
    for (const id of ['r1', 'r2', 'r3']) {
      await camera(id);
      await health.claim(id, 'w-live');
      await health.report(id, 'w-live', { status: 'online' });
    }
    for (let i = 0; i < 6; i++) {
      await sleep(LEASE_MS / 3);
      expect(await health.renew('w-live', ['r1', 'r2', 'r3'])).toEqual([]);
    }
    for (const id of ['r1', 'r2', 'r3']) expect((await health.get(id))?.status).toBe('online');
    expect(await health.claim('r2', 'w-other')).toBe('held');
  });

  it('refuses claims on deleted or disabled cameras', async () => {
    expect(await health.claim('never-registered', 'w1')).toBe('missing');
    await camera('off', false);
    expect(await health.claim('off', 'w1')).toBe('disabled');
    expect((await health.get('off'))?.status).toBe('disabled');
  });

  it('never shows online once the owner stops renewing; the sweep frees the camera and makes it stick', async () => {
    await camera('silent');
    await health.claim('silent', 'w-dead');
    await health.report('silent', 'w-dead', { status: 'online', fps: 25 });
    expect((await health.get('silent'))?.status).toBe('online');
    await sleep(LEASE_MS + 300);
    const view = await health.get('silent');
    expect(view).toMatchObject({ status: 'offline', fps: null, workerId: null });
    expect(view?.lastError).toBe('worker w-dead stopped renewing its lease');
    expect(await health.sweep()).toContain('silent');
    expect(await redis.hget(keys.health('silent'), 'status')).toBe('offline');
    expect(await redis.hget(keys.health('silent'), 'workerId')).toBe('');
    await expectCountsToMatchRecords();
  });

  it('hands a camera back for another worker, or lets it rest when nobody watches', async () => {
    await camera('handed');
    await health.claim('handed', 'w1');
    await health.release('handed', 'w1', 'offline', 'worker w1 handed it back');
    expect(await health.get('handed')).toMatchObject({
      status: 'offline',
      lastError: 'worker w1 handed it back',
    });
    expect(await health.claim('handed', 'w2')).toBe('ok');
    await health.release('handed', 'w2', 'idle', 'nobody watched it');
    expect((await health.get('handed'))?.status).toBe('idle');
    expect(await redis.zscore(keys.healthDeadlines, 'handed')).toBeNull();
  });

  it('counts a worker live between beats that come less often than a lease lasts', async () => {
    const beatKeys = redisKeys(`t-${randomBytes(4).toString('hex')}`);
    const slowBeats = new HealthStore(redis, beatKeys, {
      leaseMs: 300,
      startWaitMs: 300,
      publishIntervalMs: 1000,
    });
    await slowBeats.load();
    await slowBeats.workerBeat('w-slow', { streams: 0 });
    await sleep(600);
    expect((await slowBeats.summary()).workers.live).toBe(1);
    await sleep(1600);
    expect((await slowBeats.summary()).workers.live).toBe(0);
    await redis.del(beatKeys.workers, beatKeys.worker('w-slow'));
  });

  it('keeps the counts equal to the records through every kind of change', async () => {
    for (const id of ['c1', 'c2', 'c3']) await camera(id);
    await health.claim('c1', 'w1');
    await health.report('c1', 'w1', { status: 'online' });
    await health.report('c1', 'w1', { status: 'stalled' });
    await health.register('c2', 'disabled');
    await health.remove('c3');
    await registry.delete('c3');
    await expectCountsToMatchRecords();
  });

  /** The kept counts against a full scan of the records (which the summary itself never does). */
  async function expectCountsToMatchRecords() {
    const summary = await health.summary();
    const recorded: Record<string, number> = {};
    for (const key of await redis.keys(`${keys.prefix}:health:*`)) {
      if (key.endsWith(':counts') || key.endsWith(':deadlines')) continue;
      const status = (await redis.hget(key, 'status')) as string;
      recorded[status] = (recorded[status] ?? 0) + 1;
    }
    for (const [status, count] of Object.entries(summary.byStatus)) {
      if (status !== 'unknown') expect(count, status).toBe(recorded[status] ?? 0);
    }
    expect(summary.total).toBe(await registry.count());
  }
});
