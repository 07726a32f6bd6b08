import { spawn } from 'node:child_process';
import { type InitInfo, parseFragment, parseInit } from '../../src/llhls/fmp4.js';
import { decodeStamp, STAMP_HEIGHT_PX, STAMP_WIDTH_PX } from './stamp.js';

/**
 * The server's share of LL-HLS latency, without a player: how old the camera's frames are when a client
 * that holds a blocking playlist reload (`_HLS_msn`/`_HLS_part` for the next part, as hls.js does) learns
 * that the part holding them is complete, and how long fetching that part then takes.
 */
export interface PartTimings {
  /** Parts the probe saw completing while it waited for them (its request was held until then). */
  parts: number;
  /** Playlist answer minus the stamp of the part's last frame: camera, RTSP, ffmpeg, packager, relay. */
  newestFrameAgeMs: number[];
  /** The same for the part's first frame: the newest frame's age plus the part's own length. */
  oldestFrameAgeMs: number[];
  /** From the playlist's answer to the part's last byte, fetched right after it (one round trip). */
  partFetchMs: number[];
  /** Blocking reloads that ended without the part (a 503 after three target durations, or an error). */
  failedReloads: number;
}

const PART_NAME = /-(\d+)-(\d+)\.m4s$/;

interface SeenPart {
  name: string;
  msn: number;
  index: number;
  bytes: Buffer | null;
  /** When the blocking reload that first listed it was answered; null when it came in a batch. */
  answeredAtMs: number | null;
  fetchMs: number | null;
  initUrl: string;
}

/**
 * Follows the playlist at `playlistUrl` (a signed index.m3u8) part by part for `durationSec`, keeping the
 * parts it waited for, then reads the stamps of their frames (ffmpeg decodes each segment's parts from its
 * keyframe on; bench/latency/stamp.ts reads the luma).
 */
export async function probeParts(playlistUrl: string, durationSec: number): Promise<PartTimings> {
  const seen = new Map<string, SeenPart>();
  const inits = new Map<string, Buffer>();
  let failedReloads = 0;
  let last: { msn: number; index: number } | null = null;
  const endMs = Date.now() + durationSec * 1000;
  while (Date.now() < endMs) {
    const url = new URL(playlistUrl);
    if (last) {
      url.searchParams.set('_HLS_msn', String(last.msn));
      url.searchParams.set('_HLS_part', String(last.index + 1));
    }
    const response = await fetch(url).catch(() => null);
    const answeredAtMs = Date.now();
    if (!response?.ok) {
      failedReloads++;
      last = null;
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    const listing = listParts(await response.text(), url.href);
    const fresh = listing.parts.filter((part) => !seen.has(part.name));
    // Only a held request that ended with exactly one new part times that part's completion.
    const timed = last !== null && fresh.length === 1;
    for (const part of fresh) {
      const entry: SeenPart = {
        ...part,
        bytes: null,
        answeredAtMs: null,
        fetchMs: null,
        initUrl: listing.init,
      };
      seen.set(part.name, entry);
      const startMs = Date.now();
      const body = await fetch(part.url).then(
        async (r) => (r.ok ? Buffer.from(await r.arrayBuffer()) : null),
        () => null,
      );
      entry.bytes = body;
      if (timed) {
        entry.answeredAtMs = answeredAtMs;
        entry.fetchMs = Date.now() - startMs;
      }
    }
    if (!inits.has(listing.init)) {
      const init = await fetch(listing.init).then(async (r) => Buffer.from(await r.arrayBuffer()));
      inits.set(listing.init, init);
    }
    const newest = listing.parts.at(-1);
    last = newest ? { msn: newest.msn, index: newest.index } : null;
  }
  return { ...(await ageOfFrames([...seen.values()], inits)), failedReloads };
}

interface ListedPart {
  name: string;
  url: string;
  msn: number;
  index: number;
}

/** The parts a playlist lists, in order, with absolute URLs, and its init segment's URL. */
function listParts(text: string, base: string): { parts: ListedPart[]; init: string } {
  const parts: ListedPart[] = [];
  let init = '';
  for (const line of text.split('\n')) {
    const uri = /URI="([^"]+)"/.exec(line)?.[1];
    if (!uri) continue;
    if (line.startsWith('#EXT-X-MAP:')) init = new URL(uri, base).href;
    if (!line.startsWith('#EXT-X-PART:')) continue;
    const url = new URL(uri, base);
    const match = PART_NAME.exec(url.pathname);
    if (!match) continue;
    const name = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
    parts.push({ name, url: url.href, msn: Number(match[1]), index: Number(match[2]) });
  }
  return { parts, init };
}

async function ageOfFrames(
  parts: SeenPart[],
  inits: Map<string, Buffer>,
): Promise<Omit<PartTimings, 'failedReloads'>> {
  const result = { parts: 0, newestFrameAgeMs: [] as number[], oldestFrameAgeMs: [] as number[] };
  const partFetchMs: number[] = [];
  const bySegment = new Map<string, SeenPart[]>();
  for (const part of parts) {
    const key = `${part.initUrl} ${part.msn}`;
    bySegment.set(key, [...(bySegment.get(key) ?? []), part]);
  }
  for (const segmentParts of bySegment.values()) {
    segmentParts.sort((a, b) => a.index - b.index);
    // Decodable only from the segment's first part (its keyframe) on, without a gap.
    const run: SeenPart[] = [];
    for (const part of segmentParts) {
      if (part.index !== run.length || !part.bytes) break;
      run.push(part);
    }
    const first = run[0];
    const init = first ? inits.get(first.initUrl) : undefined;
    if (!first || !init || !run.some((part) => part.answeredAtMs !== null)) continue;
    const info = parseInit(init);
    const stamps = await decodeStamps(Buffer.concat([init, ...run.map((part) => part.bytes as Buffer)]));
    let frame = 0;
    for (const part of run) {
      const frames = frameCount(part.bytes as Buffer, info);
      const firstStamp = stamps[frame];
      const lastStamp = stamps[frame + frames - 1];
      frame += frames;
      if (part.answeredAtMs === null || frames === 0) continue;
      if (firstStamp == null || lastStamp == null) continue;
      result.parts++;
      result.newestFrameAgeMs.push(part.answeredAtMs - lastStamp);
      result.oldestFrameAgeMs.push(part.answeredAtMs - firstStamp);
      if (part.fetchMs !== null) partFetchMs.push(part.fetchMs);
    }
  }
  return { ...result, partFetchMs };
}

function frameCount(bytes: Buffer, init: InitInfo): number {
  try {
    return parseFragment(bytes, init)?.videoFrames ?? 0;
  } catch {
    return 0;
  }
}

/** The stamp of every frame of an fMP4 (init and fragments), in decoding order; null where unreadable. */
async function decodeStamps(mp4: Buffer): Promise<Array<number | null>> {
  const frameBytes = STAMP_WIDTH_PX * STAMP_HEIGHT_PX;
  const ffmpeg = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'mp4', '-i', 'pipe:0'],
      ...['-vf', `crop=${STAMP_WIDTH_PX}:${STAMP_HEIGHT_PX}:0:0`, '-fps_mode', 'passthrough'],
      ...['-pix_fmt', 'gray', '-f', 'rawvideo', 'pipe:1'],
    ],
    { stdio: ['pipe', 'pipe', 'ignore'] },
  );
  const chunks: Buffer[] = [];
  ffmpeg.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  ffmpeg.stdin.on('error', () => undefined);
  ffmpeg.stdin.end(mp4);
  await new Promise((resolve) => ffmpeg.once('close', resolve));
  const raw = Buffer.concat(chunks);
  const stamps: Array<number | null> = [];
  for (let offset = 0; offset + frameBytes <= raw.length; offset += frameBytes) {
    const data = raw.subarray(offset, offset + frameBytes);
    stamps.push(decodeStamp({ data, width: STAMP_WIDTH_PX, height: STAMP_HEIGHT_PX, channels: 1 }));
  }
  return stamps;
}
