import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { PlaylistAnswer } from '../llhls/live-stream.js';
import type { LiveStreams } from '../llhls/live-streams.js';
import type { DeliveryDirective } from '../llhls/reload.js';
import type { Logger } from '../log.js';
import type { RedisKeys } from '../redis/keys.js';
import type { StreamSigner } from '../security/stream-signer.js';
import { ByteCache } from './byte-cache.js';
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
/**
 * The same for a playlist on this disk, where reading it again is cheap: a tenth of a 1 s segment. (A stat
 * per request to see whether it changed would cost a fifth of the relay's CPU, and on NFS a stat may answer
 * from a cache for seconds, where the open of a read does not.)
 */
const LOCAL_PLAYLIST_CACHE_MS = 100;
/**
 * Segment names are never reused, so a segment may be kept as long as players may still ask for it. (It may
 * outlive its file by as much, e.g. after a camera is deleted, but only for URLs that could fetch the file.)
 */
const SEGMENT_CACHE_MS = 30_000;
const CACHE_MAX_BYTES = 256 * 1024 * 1024;
const UPSTREAM_TIMEOUT_MS = 5000;
/**
 * A blocking request is held upstream for up to three target durations (the spec's limit); the relay waits
 * that long and a margin, for target durations of up to 3 s.
 */
const UPSTREAM_BLOCKING_TIMEOUT_MS = 12_000;
/**
 * A blocking playlist answer (for _HLS_msn N, _HLS_part P) stays a right answer to that same request: a
 * viewer asking it a little later gets it from here. A playlist without directive is fresh for a part.
 */
const BLOCKING_ANSWER_CACHE_MS = 1000;
const LIVE_PLAYLIST_CACHE_MS = 100;
const WORKER_URL_CACHE_MS = 5000;
const UPSTREAM_GRANT_SEC = 120;

/**
 * Where a relay finds a camera's HLS files: on its own disk when it has them (the `all` role, or a volume
 * shared with the workers), else from the worker that ingests the camera, over HTTP. Either way files are
 * kept a short while in memory (segments as long as players may ask for them, playlists a fraction of a
 * segment), and reads and upstream fetches are coalesced: one per file, however many viewers ask at once.
 */
export class HlsSource {
  private readonly upstream = new Coalescer<Buffer | null>();
  private readonly upstreamPlaylists = new Coalescer<PlaylistAnswer | null>();
  private readonly reads = new Coalescer<Buffer | null>();
  private readonly cache = new ByteCache(CACHE_MAX_BYTES);
  private readonly root: string;
  private readonly workerUrls = new Map<string, { url: string | null; expiresAtMs: number }>();

  /**
   * `remote` null: a worker's server, whose only readers are relays that keep what they fetch; it reads
   * its files afresh for each request and keeps nothing.
   */
  constructor(
    hlsRoot: string,
    private readonly remote: RemoteOwners | null,
    /** LL-HLS streams ingested in this process: answered from memory, before disk or any worker. */
    private readonly live: LiveStreams | null = null,
    /**
     * The deployment makes LL-HLS (HLS_MODE=ll): a playlist on disk is a classic copy (HLS_WRITE_DISK), good
     * for classic.m3u8 but not for index.m3u8, which the owning worker answers with parts.
     */
    private readonly lowLatencyMode = false,
  ) {
    this.root = path.resolve(hlsRoot);
  }

  /**
   * A camera's playlist: LL-HLS (`lowLatency`, held per the request's delivery directive) or classic
   * (whole segments) from a stream in memory here; else the playlist on disk; else the owning worker's
   * answer to the same request.
   */
  async playlist(
    cameraId: string,
    directive: DeliveryDirective,
    lowLatency: boolean,
  ): Promise<PlaylistAnswer | null> {
    const stream = this.live?.get(cameraId);
    if (stream) return stream.playlist(directive, lowLatency);
    const file = lowLatency ? 'index.m3u8' : CLASSIC_PLAYLIST;
    // A playlist on disk is classic HLS (HLS_MODE=classic, or HLS_WRITE_DISK): it cannot answer a blocking request.
    if (directive.msn === null && !(lowLatency && this.lowLatencyMode)) {
      const local = await this.readLocal(`${cameraId}/index.m3u8`, this.pathOf(cameraId, 'index.m3u8'));
      if (local) return { kind: 'playlist', body: local };
    }
    if (!this.remote) return null;
    const remote = this.remote;
    const query = directiveQuery(directive);
    const key = `${cameraId}/${file}?${query}`;
    const kept = this.cache.get(key);
    if (kept) return { kind: 'playlist', body: kept };
    return this.upstreamPlaylists.run(key, () => this.fetchPlaylist(remote, cameraId, file, query, key));
  }

  /** A segment, part or init segment; a part announced by a preload hint is answered once it is complete. */
  async read(cameraId: string, file: string): Promise<Buffer | null> {
    const stream = this.live?.get(cameraId);
    if (stream) return stream.file(file);
    const target = this.pathOf(cameraId, file);
    if (!target) return null;
    // Kept files are the same bytes whether they were read here or fetched from a worker.
    const key = `${cameraId}/${file}`;
    const kept = this.remote ? this.cache.get(key) : null;
    if (kept) return kept;
    const local = await this.readLocal(key, target);
    if (local || !this.remote) return local;
    // Another viewer's fetch may have landed while this one looked on disk: checked and joined in one tick,
    // so a file is fetched once however the viewers' requests interleave.
    const landed = this.cache.get(key);
    if (landed) return landed;
    const remote = this.remote;
    return this.upstream.run(key, () => this.fetchUpstream(remote, cameraId, file));
  }

  /** The file's path under the HLS root; routes admit only slugs, and this is the second lock. */
  private pathOf(cameraId: string, file: string): string {
    const target = path.join(this.root, cameraId, file);
    return target.startsWith(this.root + path.sep) ? target : '';
  }

  private async fetchPlaylist(
    remote: RemoteOwners,
    cameraId: string,
    file: string,
    directiveQuery: string,
    cacheKey: string,
  ): Promise<PlaylistAnswer | null> {
    const blocking = directiveQuery !== '';
    const response = await this.fetchFromOwner(remote, cameraId, file, directiveQuery, blocking);
    if (!response) return null;
    if (response.status === 400) return { kind: 'bad-request', reason: 'the worker refused the request' };
    if (response.status === 503) return { kind: 'unavailable', reason: 'the part did not arrive in time' };
    if (!response.ok) return null;
    // The worker signed the playlist's URIs for the relay; the relay signs them anew for its viewer.
    const body = Buffer.from(stripQueries(await response.text()));
    this.cache.set(cacheKey, body, blocking ? BLOCKING_ANSWER_CACHE_MS : LIVE_PLAYLIST_CACHE_MS);
    return { kind: 'playlist', body };
  }

  /**
   * A file on this disk. A segment is written once, under a name no other segment ever has (ffmpeg writes
   * it to a temporary file and renames it; each run has its own prefix), so what was read stays true.
   */
  private async readLocal(key: string, target: string): Promise<Buffer | null> {
    if (!target) return null;
    if (!this.remote) return readFile(target).catch(() => null);
    return this.reads.run(key, async () => {
      const body = await readFile(target).catch(() => null);
      if (body) this.cache.set(key, body, key.endsWith('.m3u8') ? LOCAL_PLAYLIST_CACHE_MS : SEGMENT_CACHE_MS);
      return body;
    });
  }

  private async fetchUpstream(remote: RemoteOwners, cameraId: string, file: string): Promise<Buffer | null> {
    const playlist = file.endsWith('.m3u8');
    // A part may be the one a preload hint names: the worker holds the request until it is complete.
    const response = await this.fetchFromOwner(remote, cameraId, file, '', file.endsWith('.m4s'));
    if (!response?.ok) return null;
    try {
      const body = Buffer.from(await response.arrayBuffer());
      const unsigned = playlist ? Buffer.from(stripQueries(body.toString('utf8'))) : body;
      this.cache.set(`${cameraId}/${file}`, unsigned, playlist ? PLAYLIST_CACHE_MS : SEGMENT_CACHE_MS);
      return unsigned;
    } catch (err) {
      remote.log.debug({ err, cameraId, file }, 'upstream HLS fetch failed');
      return null;
    }
  }

  /** The owner's answer to a signed request for the file, or null when there is no owner or no answer. */
  private async fetchFromOwner(
    remote: RemoteOwners,
    cameraId: string,
    file: string,
    extraQuery: string,
    mayBlock: boolean,
  ): Promise<Response | null> {
    const base = await this.ownerUrl(remote, cameraId);
    if (!base) return null;
    remote.onUpstreamFetch?.(file.endsWith('.m3u8') ? 'playlist' : 'segment');
    const exp = Math.floor(Date.now() / 1000) + UPSTREAM_GRANT_SEC;
    const query = new URLSearchParams({ ...(await remote.signer.sign({ cameraId, exp })) });
    const extra = extraQuery ? `&${extraQuery}` : '';
    try {
      return await fetch(`${base}/hls/${cameraId}/${file}?${query}${extra}`, {
        signal: AbortSignal.timeout(mayBlock ? UPSTREAM_BLOCKING_TIMEOUT_MS : UPSTREAM_TIMEOUT_MS),
      });
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
}

/** The playlist a classic player gets: whole segments only, from the same window. */
export const CLASSIC_PLAYLIST = 'classic.m3u8';

/** Drops the query of every URI: URI lines, and URI="…" attributes of tags (map, parts, preload hint). */
export function stripQueries(text: string): string {
  return text
    .split('\n')
    .map((line) =>
      line.startsWith('#')
        ? line.replace(/URI="([^"?]*)\?[^"]*"/g, 'URI="$1"')
        : line.includes('?')
          ? line.slice(0, line.indexOf('?'))
          : line,
    )
    .join('\n');
}

function directiveQuery(directive: DeliveryDirective): string {
  const query = new URLSearchParams();
  if (directive.msn !== null) query.set('_HLS_msn', String(directive.msn));
  if (directive.part !== null) query.set('_HLS_part', String(directive.part));
  if (directive.skip) query.set('_HLS_skip', 'YES');
  return query.toString();
}
