import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { RedisKeys } from '../redis/keys.js';
import type { StreamSigner } from '../security/stream-signer.js';
import { Coalescer } from './coalescer.js';

export interface RemoteOwners {
  redis: Redis;
  keys: RedisKeys;
  signer: StreamSigner;
  log: Logger;
  onUpstreamFetch?: (kind: 'playlist' | 'segment') => void;
  /**
   * The worker in this same process (the `all` role), if any. What it holds is on this disk or nowhere:
   * asking it over HTTP would be asking ourselves, and the request would come back here again.
   */
  selfWorkerId?: string | null;
}

/** A playlist changes with every segment; a burst of viewers polling it within this window shares one fetch. */
const PLAYLIST_CACHE_MS = 500;
/** Segment names are never reused, so a segment may be kept as long as players may still ask for it. */
const SEGMENT_CACHE_MS = 30_000;
const CACHE_MAX_BYTES = 256 * 1024 * 1024;
const UPSTREAM_TIMEOUT_MS = 5000;
const WORKER_URL_CACHE_MS = 5000;
const UPSTREAM_GRANT_SEC = 120;

/**
 * Where a relay finds a camera's HLS files: on its own disk when it has them (the `all` role, or a volume
 * shared with the workers), else from the worker that ingests the camera, over HTTP. Upstream fetches are
 * coalesced (one fetch per file, however many viewers ask at once) and kept a short while in memory.
 */
export class HlsSource {
  private readonly upstream = new Coalescer<Buffer | null>();
  private readonly cache = new Map<string, { body: Buffer; expiresAtMs: number }>();
  private cachedBytes = 0;
  private readonly workerUrls = new Map<string, { url: string | null; expiresAtMs: number }>();

  constructor(
    private readonly hlsRoot: string,
    private readonly remote: RemoteOwners | null,
  ) {}

  async read(cameraId: string, file: string): Promise<Buffer | null> {
    const root = path.resolve(this.hlsRoot);
    const target = path.join(root, cameraId, file);
    if (!target.startsWith(root + path.sep)) return null; // routes admit only slugs; this is the second lock
    const local = await readFile(target).catch(() => null);
    if (local || !this.remote) return local;
    const key = `${cameraId}/${file}`;
    const cached = this.cache.get(key);
    if (cached && cached.expiresAtMs > Date.now()) return cached.body;
    const remote = this.remote;
    return this.upstream.run(key, () => this.fetchUpstream(remote, cameraId, file));
  }

  private async fetchUpstream(remote: RemoteOwners, cameraId: string, file: string): Promise<Buffer | null> {
    const base = await this.ownerUrl(remote, cameraId);
    if (!base) return null;
    const playlist = file.endsWith('.m3u8');
    remote.onUpstreamFetch?.(playlist ? 'playlist' : 'segment');
    const exp = Math.floor(Date.now() / 1000) + UPSTREAM_GRANT_SEC;
    const query = new URLSearchParams({ ...(await remote.signer.sign({ cameraId, exp })) });
    try {
      const response = await fetch(`${base}/hls/${cameraId}/${file}?${query}`, {
        signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      });
      if (!response.ok) return null;
      // The worker signed the playlist's segment URIs for the relay; the relay signs them anew for its viewer.
      const body = Buffer.from(await response.arrayBuffer());
      const unsigned = playlist ? Buffer.from(stripQueries(body.toString('utf8'))) : body;
      this.remember(`${cameraId}/${file}`, unsigned, playlist ? PLAYLIST_CACHE_MS : SEGMENT_CACHE_MS);
      return unsigned;
    } catch (err) {
      remote.log.debug({ err, cameraId, file }, 'upstream HLS fetch failed');
      return null;
    }
  }

  /** The HLS base URL of the worker that holds the camera now, if any. */
  private async ownerUrl(remote: RemoteOwners, cameraId: string): Promise<string | null> {
    const owner = await remote.redis.hget(remote.keys.health(cameraId), 'workerId');
    if (!owner || owner === remote.selfWorkerId) return null;
    const known = this.workerUrls.get(owner);
    if (known && known.expiresAtMs > Date.now()) return known.url;
    const url = await remote.redis.hget(remote.keys.worker(owner), 'hlsUrl');
    this.workerUrls.set(owner, { url, expiresAtMs: Date.now() + WORKER_URL_CACHE_MS });
    return url;
  }

  private remember(key: string, body: Buffer, ttlMs: number): void {
    const old = this.cache.get(key);
    if (old) this.cachedBytes -= old.body.length;
    this.cache.delete(key);
    this.cache.set(key, { body, expiresAtMs: Date.now() + ttlMs });
    this.cachedBytes += body.length;
    // Oldest first: Map keeps insertion order.
    for (const [oldest, entry] of this.cache) {
      if (this.cachedBytes <= CACHE_MAX_BYTES && entry.expiresAtMs > Date.now()) break;
      this.cache.delete(oldest);
      this.cachedBytes -= entry.body.length;
    }
  }
}

/** Drops the query of every URI line, leaving tags alone. */
function stripQueries(text: string): string {
  return text
    .split('\n')
    .map((line) => (line.startsWith('#') || !line.includes('?') ? line : line.slice(0, line.indexOf('?'))))
    .join('\n');
}
