import type { Redis } from 'ioredis';
import type { Demand } from '../cameras/demand.js';
import type { CameraRegistry } from '../cameras/registry.js';
import type { EventFeed } from '../health/event-feed.js';
import type { StatusEvent } from '../health/events.js';
import type { HealthStore } from '../health/store.js';
import type { RedisKeys } from '../redis/keys.js';
import type { IngestQueue } from '../workers/ingest-queue.js';
import { Coalescer } from './coalescer.js';

const MODE_CACHE_MS = 5000;
/** A relay records a camera's demand at most this often; workers look at it every few seconds. */
const TOUCH_EVERY_MS = 1000;

export interface OnDemandDeps {
  demand: Demand;
  registry: CameraRegistry;
  health: HealthStore;
  queue: IngestQueue;
  feed: EventFeed;
  redis: Redis;
  keys: RedisKeys;
  startWaitMs: number;
}

/**
 * On-demand cameras, from the relay's side: every playlist request records that someone watches (the
 * worker stops the ingest once nobody has for ON_DEMAND_IDLE_SEC), and the first request of a camera that
 * is not running starts it and waits, bounded, for its first playlist, so the player's first request
 * succeeds. The wait ends on the camera's `online` status event, not on a poll.
 */
export class OnDemand {
  private readonly modes = new Map<string, { onDemand: boolean; expiresAtMs: number }>();
  private readonly touched = new Map<string, number>();
  private readonly starting = new Coalescer<boolean>();

  constructor(private readonly deps: OnDemandDeps) {}

  async isOnDemand(cameraId: string): Promise<boolean> {
    const known = this.modes.get(cameraId);
    if (known && known.expiresAtMs > Date.now()) return known.onDemand;
    const camera = await this.deps.registry.get(cameraId);
    const onDemand = camera?.mode === 'on-demand' && camera.enabled;
    this.modes.set(cameraId, { onDemand, expiresAtMs: Date.now() + MODE_CACHE_MS });
    return onDemand;
  }

  async touch(cameraId: string): Promise<void> {
    const now = Date.now();
    if ((this.touched.get(cameraId) ?? 0) > now - TOUCH_EVERY_MS) return;
    this.touched.set(cameraId, now);
    await this.deps.demand.touch(cameraId, now);
  }

  /** Starts the camera if nobody runs it, and resolves true once it is online (false after the wait). */
  start(cameraId: string): Promise<boolean> {
    return this.starting.run(cameraId, () => this.startAndWait(cameraId));
  }

  private async startAndWait(cameraId: string): Promise<boolean> {
    const { feed, health, queue, startWaitMs } = this.deps;
    let onOnline: (event: StatusEvent) => void = () => undefined;
    const online = new Promise<boolean>((resolve) => {
      onOnline = (event) => {
        if (event.cameraId === cameraId && event.to === 'online') resolve(true);
      };
      feed.on('event', onOnline);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), startWaitMs);
    });
    try {
      if ((await health.get(cameraId))?.status === 'online') return true;
      await queue.ensure(cameraId);
      return await Promise.race([online, timeout]);
    } finally {
      clearTimeout(timer);
      feed.off('event', onOnline);
    }
  }
}
