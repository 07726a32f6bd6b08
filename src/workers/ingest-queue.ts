import { Queue } from 'bullmq';
import type { RedisOptions } from 'ioredis';

export const INGEST_QUEUE = 'ingest';

const JOB_RETRY_DELAY_MS = 5000;

export interface IngestJobData {
  cameraId: string;
}

/**
 * BullMQ refuses custom ids that read as integers, and a camera may be called "42"; the prefix keeps the
 * mapping one-to-one, so a camera still has at most one job.
 */
export function ingestJobId(cameraId: string): string {
  return `camera-${cameraId}`;
}

/** The producer side: one never-ending job per camera that should be ingested. */
export class IngestQueue {
  readonly queue: Queue<IngestJobData>;

  constructor(connection: RedisOptions, prefix: string) {
    this.queue = new Queue<IngestJobData>(INGEST_QUEUE, { connection, prefix });
  }

  /** Idempotent: BullMQ ignores an add whose job id already exists in any state. */
  async ensure(cameraId: string): Promise<void> {
    await this.queue.add('ingest', { cameraId }, this.jobOptions(cameraId));
  }

  async ensureMany(cameraIds: readonly string[]): Promise<void> {
    if (cameraIds.length === 0) return;
    await this.queue.addBulk(
      cameraIds.map((cameraId) => ({ name: 'ingest', data: { cameraId }, opts: this.jobOptions(cameraId) })),
    );
  }

  /** Removes a job no worker has taken yet. An active job ends when its worker sees the camera change. */
  async removeWaiting(cameraId: string): Promise<void> {
    const job = await this.queue.getJob(ingestJobId(cameraId));
    if (!job) return;
    const state = await job.getState();
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
      await job.remove().catch(() => undefined); // taken by a worker meanwhile: it will see the change
    }
  }

  /**
   * A camera job ends only when its camera is deleted or disabled; if its processor fails for any other
   * reason (Redis gone for a moment), it is tried again every few seconds, never given up.
   */
  private jobOptions(cameraId: string) {
    return {
      jobId: ingestJobId(cameraId),
      removeOnComplete: true,
      removeOnFail: true,
      attempts: Number.MAX_SAFE_INTEGER,
      backoff: { type: 'fixed', delay: JOB_RETRY_DELAY_MS },
    };
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
