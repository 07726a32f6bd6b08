import { Queue } from 'bullmq';
import type { RedisOptions } from 'ioredis';

export const INGEST_QUEUE = 'ingest';

export interface IngestJobData {
  cameraId: string;
}

/**
 * BullMQ refuses custom ids that read as integers, and a camera may be called "42"; the prefix keeps the
 * mapping one-to-one, so a camera has at most one start command waiting.
 */
export function ingestJobId(cameraId: string): string {
  return `camera-${cameraId}`;
}

/**
 * The producer side of start commands: "start camera X" for whichever worker has room. A command is done
 * in moments (the worker takes the camera's lease and starts it); the lease, not the job, then holds it.
 */
export class IngestQueue {
  readonly queue: Queue<IngestJobData>;

  constructor(connection: RedisOptions, prefix: string) {
    this.queue = new Queue<IngestJobData>(INGEST_QUEUE, { connection, prefix });
  }

  /** Before anyone may close it: see IngestWorker.start. */
  async ready(): Promise<void> {
    await this.queue.waitUntilReady();
  }

  /** Idempotent while a command for the camera waits: BullMQ ignores an add whose job id exists. */
  async ensure(cameraId: string): Promise<void> {
    await this.queue.add('start', { cameraId }, jobOptions(cameraId));
  }

  async ensureMany(cameraIds: readonly string[]): Promise<void> {
    for (let i = 0; i < cameraIds.length; i += BULK) {
      const batch = cameraIds.slice(i, i + BULK);
      await this.queue.addBulk(
        batch.map((cameraId) => ({ name: 'start', data: { cameraId }, opts: jobOptions(cameraId) })),
      );
    }
  }

  /** Drops a command no worker has taken yet. One being taken finds the camera disabled or gone. */
  async removeWaiting(cameraId: string): Promise<void> {
    const job = await this.queue.getJob(ingestJobId(cameraId));
    if (!job) return;
    const state = await job.getState();
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
      await job.remove().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

const BULK = 1000;

function jobOptions(cameraId: string) {
  return {
    jobId: ingestJobId(cameraId),
    removeOnComplete: true,
    removeOnFail: true,
    // A command that fails (Redis gone for a moment) is retried; the reconciler catches anything left over.
    attempts: 5,
    backoff: { type: 'exponential', delay: 1000 },
  };
}
