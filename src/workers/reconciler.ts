import { Queue, Worker } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import type { CameraRegistry } from '../cameras/registry.js';
import { runsAlways } from '../cameras/service.js';
import type { Logger } from '../log.js';
import type { RedisKeys } from '../redis/keys.js';
import type { IngestQueue } from './ingest-queue.js';

export const MAINTENANCE_QUEUE = 'maintenance';
const RECONCILE_SCHEDULER = 'reconcile-cameras';

/**
 * Makes sure every enabled always-on camera is running or has a start command waiting: after a crash
 * between a write and its command, after a Redis restore, after a lost message. A camera a worker holds
 * (its lease deadline still ahead) is left alone, so a pass over 62,000 cameras queues only the missing.
 */
export class Reconciler {
  constructor(
    private readonly registry: CameraRegistry,
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly queue: IngestQueue,
  ) {}

  async run(pageSize = 1000): Promise<number> {
    let queued = 0;
    for await (const ids of this.registry.allIds(pageSize)) {
      const [cameras, deadlines] = await Promise.all([
        this.registry.getMany(ids),
        this.redis.zmscore(this.keys.healthDeadlines, ...ids),
      ]);
      const missing = ids.filter((_, i) => {
        const camera = cameras[i];
        return camera && runsAlways(camera) && deadlines[i] === null;
      });
      await this.queue.ensureMany(missing);
      queued += missing.length;
    }
    return queued;
  }
}

/** A BullMQ job scheduler runs the reconciler every `everyMs` on one of the workers. Idempotent. */
export async function scheduleReconcile(
  connection: RedisOptions,
  prefix: string,
  everyMs: number,
): Promise<void> {
  const queue = new Queue(MAINTENANCE_QUEUE, { connection, prefix });
  try {
    await queue.upsertJobScheduler(RECONCILE_SCHEDULER, { every: everyMs }, { name: 'reconcile' });
  } finally {
    await queue.close();
  }
}

/** The worker side: one reconcile at a time per worker. */
export async function consumeMaintenance(
  connection: RedisOptions,
  prefix: string,
  reconciler: Reconciler,
  log: Logger,
): Promise<Worker> {
  const worker = new Worker(
    MAINTENANCE_QUEUE,
    async () => {
      const queued = await reconciler.run();
      if (queued > 0) log.info({ queued }, 'reconciler queued cameras that were not running');
      return queued;
    },
    { connection, prefix, concurrency: 1 },
  );
  worker.on('error', (err) => log.error({ err }, 'maintenance worker error'));
  await worker.waitUntilReady();
  return worker;
}
