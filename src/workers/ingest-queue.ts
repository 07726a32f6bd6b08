import { Queue } from 'bullmq';
import type { RedisOptions } from 'ioredis';

export const INGEST_QUEUE = 'ingest';

export interface IngestJobData {
  cameraIds: string[];
}

/**
 * Cameras one start command carries when many start at once (import, failover, reconcile). One command per
 * camera costs BullMQ three scripts each: 16,000 cameras of a dead worker took 40 s to start again that way
 * (BENCHMARKS.md). Small enough that the cameras still spread over the workers.
 */
export const START_BATCH = 100;

/**
 * BullMQ refuses custom ids that read as integers, and a camera may be called "42"; the prefix keeps the
 * mapping one-to-one, so a camera has at most one single-camera start command waiting.
 */
export function ingestJobId(cameraId: string): string {
  return `camera-${cameraId}`;
}

/**
 * The producer side of start commands: "start these cameras" for whichever worker has room. A command is
 * done in moments (the worker takes the cameras' leases and starts them); the leases, not the job, then hold
 * them. A camera named twice (in two waiting commands) is harmless: its lease lets only one worker take it.
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

  /**
   * One camera (created, enabled, handed back, asked for): idempotent while its command waits, since BullMQ
   * ignores an add whose job id exists; a wall of viewers asking for one camera queues one command.
   */
  async ensure(cameraId: string): Promise<void> {
    await this.queue.add(
      'start',
      { cameraIds: [cameraId] },
      { ...COMMAND_OPTIONS, jobId: ingestJobId(cameraId) },
    );
  }

  async ensureMany(cameraIds: readonly string[]): Promise<void> {
    if (cameraIds.length === 1) return this.ensure(cameraIds[0] as string);
    const commands = [];
    for (let i = 0; i < cameraIds.length; i += START_BATCH) {
      commands.push({
        name: 'start',
        data: { cameraIds: cameraIds.slice(i, i + START_BATCH) },
        opts: COMMAND_OPTIONS,
      });
    }
    for (let i = 0; i < commands.length; i += BULK_COMMANDS) {
      await this.queue.addBulk(commands.slice(i, i + BULK_COMMANDS));
    }
  }

  /**
   * Drops the camera's single-camera command if no worker has taken it yet. Any other command naming it
   * finds the camera disabled or gone when a worker claims it.
   */
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

const BULK_COMMANDS = 100;

const COMMAND_OPTIONS = {
  removeOnComplete: true,
  removeOnFail: true,
  // A command that fails (Redis gone for a moment) is retried; the reconciler catches anything left over.
  attempts: 5,
  backoff: { type: 'exponential' as const, delay: 1000 },
};
