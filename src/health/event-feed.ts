import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { type StatusEvent, type StreamEntry, toStatusEvent } from './events.js';

const BLOCK_MS = 5000;
const BATCH = 500;
const RETRY_MS = 1000;

/**
 * One XREAD BLOCK loop per relay process fanning new status events out to every live client, so a wall of
 * many tabs costs one Redis connection, not one each. `position` is the id of the last event handed out;
 * a client catching up from an older id reads the stream up to there and takes the rest from the feed.
 */
export class EventFeed extends EventEmitter<{ event: [StatusEvent] }> {
  private lastId = '0-0';
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(
    /** A connection of its own: XREAD BLOCK holds it. */
    private readonly redis: Redis,
    private readonly streamKey: string,
    private readonly log: Logger,
  ) {
    super();
    this.setMaxListeners(0);
    redis.on('error', () => undefined); // the read loop reports and retries
  }

  get position(): string {
    return this.lastId;
  }

  async start(): Promise<void> {
    const [newest] = (await this.redis.xrevrange(this.streamKey, '+', '-', 'COUNT', 1)) as StreamEntry[];
    this.lastId = newest?.[0] ?? '0-0';
    this.running = true;
    this.loop = this.read();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.redis.disconnect();
    await this.loop;
  }

  private async read(): Promise<void> {
    while (this.running) {
      try {
        const reply = (await this.redis.xread(
          'COUNT',
          BATCH,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          this.streamKey,
          this.lastId,
        )) as Array<[string, StreamEntry[]]> | null;
        for (const entry of reply?.[0]?.[1] ?? []) {
          this.lastId = entry[0];
          this.emit('event', toStatusEvent(entry));
        }
      } catch (err) {
        if (!this.running) return;
        this.log.warn({ err }, 'status event feed interrupted; retrying');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }
}

/** Orders stream ids ("<ms>-<seq>"). */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split('-').map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}
