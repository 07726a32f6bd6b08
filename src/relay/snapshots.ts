import { parseMediaPlaylist } from '../ingest/playlist.js';
import { Coalescer } from './coalescer.js';
import type { HlsSource } from './hls-source.js';

export interface Snapshot {
  jpeg: Buffer;
  /** When the picture was taken: the newest segment's program date-time (ms). */
  takenAtMs: number;
}

/** A wall's picker asks for dozens at once; within this window they share one decode per camera. */
const SNAPSHOT_CACHE_MS = 2000;

/**
 * Recent pictures of cameras, decoded from the newest segment of their running ingest (wherever it runs:
 * HlsSource reads it locally or from the owning worker). Nothing runs for a camera nobody asks about.
 */
export class Snapshots {
  private readonly cache = new Map<string, { snapshot: Snapshot; expiresAtMs: number }>();
  private readonly taking = new Coalescer<Snapshot | null>();

  constructor(
    private readonly source: HlsSource,
    private readonly decode: (segment: Buffer) => Promise<Buffer>,
  ) {}

  /** The newest picture, or null when the camera streams nothing now. */
  async latest(cameraId: string): Promise<Snapshot | null> {
    const cached = this.cache.get(cameraId);
    if (cached && cached.expiresAtMs > Date.now()) return cached.snapshot;
    return this.taking.run(cameraId, () => this.take(cameraId));
  }

  private async take(cameraId: string): Promise<Snapshot | null> {
    const playlist = await this.source.read(cameraId, 'index.m3u8');
    const newest = playlist ? parseMediaPlaylist(playlist.toString('utf8'))?.segments.at(-1) : undefined;
    if (!newest) return null;
    const segment = await this.source.read(cameraId, newest.uri.replace(/\?.*$/, ''));
    if (!segment) return null;
    const snapshot = { jpeg: await this.decode(segment), takenAtMs: newest.programDateTimeMs ?? Date.now() };
    this.cache.set(cameraId, { snapshot, expiresAtMs: Date.now() + SNAPSHOT_CACHE_MS });
    this.forgetExpired();
    return snapshot;
  }

  private forgetExpired(): void {
    const now = Date.now();
    for (const [id, entry] of this.cache) if (entry.expiresAtMs <= now) this.cache.delete(id);
  }
}
