import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseMediaPlaylist } from '../../src/ingest/playlist.js';

const run = promisify(execFile);

export interface HlsFixture {
  dir: string;
  playlist: string;
  playlistBody: Buffer;
  /** A segment the playlist names (the middle one of its window). */
  segment: string;
  segmentBody: Buffer;
}

export interface HlsFixtureOptions {
  durationSec: number;
  bitrateKbps: number;
  /** The segment name prefix, as camrelay's ingest names a run's segments. */
  runId: string;
}

/**
 * Real HLS, as an ingest would leave it: ffmpeg encodes a moving test pattern (640x360, 25 fps, H.264,
 * a keyframe a second) into 1 s MPEG-TS segments and a live playlist of six (no end tag).
 */
export async function makeHlsFixture(dir: string, options: HlsFixtureOptions): Promise<HlsFixture> {
  await mkdir(dir, { recursive: true });
  const rate = `${options.bitrateKbps}k`;
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', String(options.durationSec)],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p'],
    ...['-b:v', rate, '-maxrate', rate, '-bufsize', rate],
    ...['-g', '25', '-keyint_min', '25', '-sc_threshold', '0'],
    ...['-f', 'hls', '-hls_time', '1', '-hls_list_size', '6'],
    ...['-hls_flags', 'independent_segments+program_date_time+omit_endlist'],
    ...['-hls_segment_filename', path.join(dir, `${options.runId}-%d.ts`)],
    path.join(dir, 'index.m3u8'),
  ]);
  const playlistBody = await readFile(path.join(dir, 'index.m3u8'));
  const text = playlistBody.toString('utf8');
  const segments = parseMediaPlaylist(text)?.segments ?? [];
  const middle = segments[Math.floor(segments.length / 2)];
  if (!middle) throw new Error(`ffmpeg wrote a playlist with no segments:\n${text}`);
  return {
    dir,
    playlist: 'index.m3u8',
    playlistBody,
    segment: middle.uri,
    segmentBody: await readFile(path.join(dir, middle.uri)),
  };
}
