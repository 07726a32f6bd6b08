import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CameraRegistry } from '../../src/cameras/registry.js';
import { HealthStore } from '../../src/health/store.js';
import { redisOptionsFromUrl } from '../../src/redis/connection.js';
import { redisKeys } from '../../src/redis/keys.js';
import { sleep } from '../support/wait.js';

const STALE_MS = 1000;

/** The health scripts on a real Redis: ownership, heartbeats, and counts that stay right. */
describe('HealthStore', () => {
  let redis: Redis;
  const keys = redisKeys(`t-${randomBytes(4).toString('hex')}`);
  let health: HealthStore;
  let registry: CameraRegistry;

  beforeAll(async () => {
    redis = new Redis(redisOptionsFromUrl(inject('redisUrl')));
    health = new HealthStore(redis, keys, STALE_MS);
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
    await health.register(id, enabled);
  }

  it('lets only the owning worker write, and tells a worker when another has taken its camera', async () => {
    await camera('owned');
    expect(await health.claim('owned', 'w1')).toBe('ok');
    expect(await health.report('owned', 'w1', { status: 'online', fps: 25 })).toBe('written');
    expect(await health.claim('owned', 'w2')).toBe('ok');
    expect(await health.report('owned', 'w1', { status: 'offline' })).toBe('taken');
    expect(await health.reportMany('w1', [{ cameraId: 'owned', report: { status: 'online' } }])).toEqual([
      'owned',
    ]);
    expect((await health.get('owned'))?.workerId).toBe('w2');
  });

  it('refuses claims on deleted or disabled cameras', async () => {
    expect(await health.claim('never-registered', 'w1')).toBe('missing');
    await camera('off', false);
    expect(await health.claim('off', 'w1')).toBe('disabled');
    expect((await health.get('off'))?.status).toBe('disabled');
  });

  it('never shows online once the owner stops reporting, and the sweep makes it stick in the counts', async () => {
    await camera('silent');
    await health.claim('silent', 'w-dead');
    await health.report('silent', 'w-dead', { status: 'online', fps: 25 });
    expect((await health.get('silent'))?.status).toBe('online');
    const before = await health.summary();
    await sleep(STALE_MS + 300);
    const view = await health.get('silent');
    expect(view).toMatchObject({ status: 'offline', fps: null });
    expect(view?.lastError).toMatch(/worker w-dead has not reported/);
    const after = await health.summary();
    expect(after.byStatus.online).toBe(before.byStatus.online - 1);
    await expectCountsToMatchRecords();
    const stored = await redis.hget(keys.health('silent'), 'lastError');
    expect(stored).toBe('worker w-dead stopped reporting');
  });

  it('keeps the counts equal to the records through every kind of change', async () => {
    for (const id of ['c1', 'c2', 'c3']) await camera(id);
    await health.claim('c1', 'w1');
    await health.report('c1', 'w1', { status: 'online' });
    await health.report('c1', 'w1', { status: 'stalled' });
    await health.register('c2', false);
    await health.remove('c3');
    await registry.delete('c3');
    await expectCountsToMatchRecords();
  });

  /** The kept counts against a full scan of the records (which the summary itself never does). */
  async function expectCountsToMatchRecords() {
    const summary = await health.summary();
    const recorded: Record<string, number> = {};
    for (const key of await redis.keys(`${keys.prefix}:health:*`)) {
      if (key.endsWith(':counts') || key.endsWith(':beats')) continue;
      const status = (await redis.hget(key, 'status')) as string;
      recorded[status] = (recorded[status] ?? 0) + 1;
    }
    for (const [status, count] of Object.entries(summary.byStatus)) {
      if (status !== 'unknown') expect(count, status).toBe(recorded[status] ?? 0);
    }
    expect(summary.total).toBe(await registry.count());
  }
});
