import type { SegmentMedia } from '../ingest/first-frame.js';
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
    private readonly decode: (media: SegmentMedia) => Promise<Buffer>,
  ) {}

  /** The newest picture, or null when the camera streams nothing now. */
  async latest(cameraId: string): Promise<Snapshot | null> {
    const cached = this.cache.get(cameraId);
    if (cached && cached.expiresAtMs > Date.now()) return cached.snapshot;
    return this.taking.run(cameraId, () => this.take(cameraId));
  }

  private async take(cameraId: string): Promise<Snapshot | null> {
    const answer = await this.source.playlist(cameraId, { msn: null, part: null, skip: false }, false);
    const text = answer?.kind === 'playlist' ? answer.body.toString('utf8') : null;
    const playlist = text ? parseMediaPlaylist(text) : null;
    const newest = playlist?.segments.at(-1);
    if (!newest) return null;
    const segment = await this.source.read(cameraId, withoutQuery(newest.uri));
    // fMP4 segments decode only after their init segment (EXT-X-MAP).
    const init = playlist?.mapUri ? await this.source.read(cameraId, withoutQuery(playlist.mapUri)) : null;
    if (!segment || (playlist?.mapUri && !init)) return null;
    const media = init
      ? { bytes: Buffer.concat([init, segment]), format: 'mp4' as const }
      : { bytes: segment, format: 'mpegts' as const };
    const snapshot = { jpeg: await this.decode(media), takenAtMs: newest.programDateTimeMs ?? Date.now() };
    this.cache.set(cameraId, { snapshot, expiresAtMs: Date.now() + SNAPSHOT_CACHE_MS });
    this.forgetExpired();
    return snapshot;
  }

  private forgetExpired(): void {
    const now = Date.now();
    for (const [id, entry] of this.cache) if (entry.expiresAtMs <= now) this.cache.delete(id);
  }
}

function withoutQuery(uri: string): string {
  return uri.replace(/\?.*$/, '');
}
