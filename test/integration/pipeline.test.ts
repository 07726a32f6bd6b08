import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RtspCameras, startRtspCameras } from '../../src/demo/rtsp-cameras.js';
import { HealthStore } from '../../src/health/store.js';
import { type MediaPlaylist, parseMediaPlaylist } from '../../src/ingest/playlist.js';
import { redisKeys } from '../../src/redis/keys.js';
import { segmentWithInit } from '../support/hls-media.js';
import { ffmpegWritingInto, ffprobe, isAlive } from '../support/processes.js';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';
import { waitFor } from '../support/wait.js';

const PASSWORD = 'Pl41n-Text-Pa55word';

/**
 * The whole path on real parts: GStreamer RTSP cameras → BullMQ job → ffmpeg → HLS on disk → Fastify
 * relay, with health in a real Redis. Every assertion reads what is really there: the playlist over HTTP,
 * the segments through ffprobe, ffmpeg's argv from /proc.
 */
describe('core pipeline', () => {
  let cameras: RtspCameras;
  let locked: RtspCameras;
  let camrelay: TestCamrelay;

  beforeAll(async () => {
    cameras = await startRtspCameras({
      mounts: [
        { name: 'plain', kind: 'h264' },
        { name: 'hevc', kind: 'h265' },
        { name: 'g711', kind: 'h264+pcma' },
        { name: 'spare', kind: 'h264' },
      ],
    });
    locked = await startRtspCameras({
      mounts: [{ name: 'locked', kind: 'h264' }],
      user: 'admin',
      password: PASSWORD,
    });
    // Reports every second, so the fps checked below is a fresh one, not the one written when it went online.
    camrelay = await startTestCamrelay('all', { HEALTH_PUBLISH_INTERVAL_MS: '1000' });
  });
  afterAll(async () => {
    await camrelay?.close();
    await cameras?.stop();
    await locked?.stop();
  });

  const register = (body: Record<string, unknown>) =>
    camrelay.api('/api/v1/cameras', { method: 'POST', json: body });
  const health = async (id: string) => (await camrelay.api(`/api/v1/cameras/${id}/health`)).json();
  const outputDir = (id: string) => path.join(camrelay.config.hlsRoot, id);

  async function playlistWithSegments(id: string, count: number, timeoutMs: number) {
    return waitFor(
      `${count} segments in ${id}'s playlist`,
      async () => {
        const response = await camrelay.hls(id, 'index.m3u8');
        if (response.status !== 200) return undefined;
        expect(response.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
        expect(response.headers.get('cache-control')).toBe('no-cache, private');
        const playlist = parseMediaPlaylist(await response.text());
        return playlist && playlist.segments.length >= count ? playlist : undefined;
      },
      { timeoutMs },
    );
  }

  /** Downloads a segment through the relay and asks ffprobe what is in it. */
  /** The segment through the relay (with its init segment, for fMP4), as ffprobe sees it. */
  async function probeSegment(id: string, playlist: MediaPlaylist, uri: string) {
    const media = await segmentWithInit((file) => camrelay.hls(id, file), playlist, uri);
    expect(media.contentType).toBe('video/iso.segment');
    expect(media.cacheControl).toContain('immutable');
    const file = path.join(camrelay.config.dataDir, `probe-${uri.replace(/\?.*$/, '')}`);
    await writeFile(file, media.bytes);
    return ffprobe(file);
  }

  it('remuxes an H.264 camera: 3 segments within 10 s, H.264 out, online at the camera fps, no transcode', async () => {
    expect((await register({ id: 'cam-h264', name: 'H.264', url: cameras.url('plain') })).status).toBe(201);
    const playlist = await playlistWithSegments('cam-h264', 3, 10_000);
    const streams = await probeSegment('cam-h264', playlist, playlist.segments.at(-1)?.uri as string);
    expect(streams.map((s) => s.codec_name)).toEqual(['h264']);
    // The first seconds include the burst of frames the camera had buffered; the rate settles at 25.
    const record = await waitFor('the camera fps (25) in health', async () => {
      const h = await health('cam-h264');
      return h.status === 'online' && h.fps > 22 && h.fps < 28 ? h : undefined;
    });
    expect(record).toMatchObject({
      videoCodec: 'h264',
      width: 640,
      height: 360,
      videoMode: 'copy',
      audioCodec: null,
    });
    expect(record.bitrateKbps).toBeGreaterThan(0);
    expect(record.workerId).toBe(camrelay.config.worker.id);
    const [ffmpeg, ...others] = ffmpegWritingInto(outputDir('cam-h264'));
    expect(others).toEqual([]);
    expect(ffmpeg?.argv.join(' ')).toContain('-c:v copy');
    expect(ffmpeg?.argv).not.toContain('libx264');
  });

  it('serves a recent JPEG of a running camera from its newest segment, with its age', async () => {
    expect((await register({ id: 'cam-snap', name: 'Snap', url: cameras.url('plain') })).status).toBe(201);
    await playlistWithSegments('cam-snap', 2, 10_000);
    const response = await camrelay.api('/api/v1/cameras/cam-snap/snapshot.jpg');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    const ageMs = Number(response.headers.get('x-snapshot-age-ms'));
    expect(ageMs).toBeGreaterThanOrEqual(0);
    expect(ageMs).toBeLessThan(4000);
    const file = path.join(camrelay.config.dataDir, 'snapshot.jpg');
    await writeFile(file, Buffer.from(await response.arrayBuffer()));
    const [picture, ...others] = await ffprobe(file);
    expect(others).toEqual([]);
    expect(picture).toMatchObject({ codec_name: 'mjpeg', width: 640, height: 360 });
    const absent = await camrelay.api('/api/v1/cameras/no-such-cam/snapshot.jpg');
    expect(absent.status).toBe(404);
  });

  it('serves an H.265 camera as H.264', async () => {
    await register({ id: 'cam-h265', name: 'H.265', url: cameras.url('hevc') });
    const playlist = await playlistWithSegments('cam-h265', 3, 10_000);
    const streams = await probeSegment('cam-h265', playlist, playlist.segments.at(-1)?.uri as string);
    expect(streams).toEqual([expect.objectContaining({ codec_name: 'h264', width: 640, height: 360 })]);
    expect(await health('cam-h265')).toMatchObject({
      status: 'online',
      videoCodec: 'hevc',
      videoMode: 'transcode',
    });
    expect(ffmpegWritingInto(outputDir('cam-h265'))[0]?.argv).toContain('libx264');
  });

  it('serves a G.711 camera with AAC audio and the video remuxed', async () => {
    await register({ id: 'cam-g711', name: 'G.711', url: cameras.url('g711') });
    const playlist = await playlistWithSegments('cam-g711', 3, 10_000);
    const streams = await probeSegment('cam-g711', playlist, playlist.segments.at(-1)?.uri as string);
    expect(streams.map((s) => [s.codec_type, s.codec_name])).toEqual([
      ['video', 'h264'],
      ['audio', 'aac'],
    ]);
    expect(await health('cam-g711')).toMatchObject({
      status: 'online',
      audioCodec: 'pcm_alaw',
      audioMode: 'transcode',
      videoMode: 'copy',
    });
  });

  it('applies a change to the running ingest within seconds', async () => {
    await register({ id: 'cam-change', name: 'Change', url: cameras.url('plain') });
    await playlistWithSegments('cam-change', 1, 10_000);
    const [before] = ffmpegWritingInto(outputDir('cam-change'));
    await camrelay.api('/api/v1/cameras/cam-change', { method: 'PATCH', json: { transcode: 'h264' } });
    const after = await waitFor('an ffmpeg that transcodes', () => {
      const [ffmpeg] = ffmpegWritingInto(outputDir('cam-change'));
      return ffmpeg?.argv.includes('libx264') ? ffmpeg : undefined;
    });
    expect(after.pid).not.toBe(before?.pid);
    expect(isAlive(before?.pid as number)).toBe(false);
    await waitFor('online again', async () => (await health('cam-change')).status === 'online');
    expect((await health('cam-change')).restarts).toBeGreaterThanOrEqual(1);
  });

  it('disabling stops the ingest and shows disabled; enabling brings it back', async () => {
    await register({ id: 'cam-toggle', name: 'Toggle', url: cameras.url('spare') });
    await playlistWithSegments('cam-toggle', 1, 10_000);
    const [ffmpeg] = ffmpegWritingInto(outputDir('cam-toggle'));
    await camrelay.api('/api/v1/cameras/cam-toggle', { method: 'PATCH', json: { enabled: false } });
    await waitFor('ffmpeg gone', () => !isAlive(ffmpeg?.pid as number));
    expect((await health('cam-toggle')).status).toBe('disabled');
    await waitFor('output cleared', () => !existsSync(outputDir('cam-toggle')));
    await camrelay.api('/api/v1/cameras/cam-toggle', { method: 'PATCH', json: { enabled: true } });
    await playlistWithSegments('cam-toggle', 1, 10_000);
    await waitFor('online', async () => (await health('cam-toggle')).status === 'online');
  });

  it('comes back at once when disabled and enabled again before its old job has ended', async () => {
    await register({ id: 'cam-flip', name: 'Flip', url: cameras.url('spare') });
    await playlistWithSegments('cam-flip', 1, 10_000);
    const [first] = ffmpegWritingInto(outputDir('cam-flip'));
    await camrelay.api('/api/v1/cameras/cam-flip', { method: 'PATCH', json: { enabled: false } });
    await camrelay.api('/api/v1/cameras/cam-flip', { method: 'PATCH', json: { enabled: true } });
    // The job reconciler would also bring it back, but only after a minute.
    await waitFor('a new ffmpeg', () => {
      const [ffmpeg] = ffmpegWritingInto(outputDir('cam-flip'));
      return ffmpeg && ffmpeg.pid !== first?.pid ? ffmpeg : undefined;
    });
    await waitFor('online', async () => (await health('cam-flip')).status === 'online');
  });

  it('deleting a camera stops its ffmpeg and clears its output', async () => {
    await register({ id: 'cam-delete', name: 'Delete', url: cameras.url('plain') });
    await playlistWithSegments('cam-delete', 1, 10_000);
    const [ffmpeg] = ffmpegWritingInto(outputDir('cam-delete'));
    expect(ffmpeg).toBeDefined();
    expect((await camrelay.api('/api/v1/cameras/cam-delete', { method: 'DELETE' })).status).toBe(204);
    await waitFor('ffmpeg gone', () => !isAlive(ffmpeg?.pid as number), { timeoutMs: 10_000 });
    await waitFor('output gone', () => !existsSync(outputDir('cam-delete')), { timeoutMs: 10_000 });
    expect(ffmpegWritingInto(outputDir('cam-delete'))).toEqual([]);
    expect((await camrelay.hls('cam-delete', 'index.m3u8')).status).toBe(404);
    expect(await camrelay.redis.exists(`${camrelay.config.redis.prefix}:health:cam-delete`)).toBe(0);
  });

  it('a camera deleted before its change message arrives still ends cleanly, not as lost to another worker', async () => {
    await register({ id: 'cam-vanish', name: 'Vanish', url: cameras.url('plain') });
    await playlistWithSegments('cam-vanish', 1, 10_000);
    const [ffmpeg] = ffmpegWritingInto(outputDir('cam-vanish'));
    expect(ffmpeg).toBeDefined();
    // What a DELETE does, but with no message on the change channel: the worker hears of it first from its
    // next lease renewal, which finds no record.
    const keys = redisKeys(camrelay.config.redis.prefix);
    const health = new HealthStore(camrelay.redis, keys, camrelay.config.health);
    await health.load();
    await camrelay.redis.multi().hdel(keys.cameras, 'cam-vanish').zrem(keys.cameraIndex, 'cam-vanish').exec();
    await health.remove('cam-vanish');
    await waitFor('ffmpeg gone', () => !isAlive(ffmpeg?.pid as number), { timeoutMs: 10_000 });
    await waitFor('output gone', () => !existsSync(outputDir('cam-vanish')), { timeoutMs: 4000 });
    const lines = camrelay.logs.filter((line) => line.includes('"cameraId":"cam-vanish"'));
    expect(lines.join('\n')).not.toContain('another worker holds this camera');
    expect(lines.join('\n')).toMatch(/"end":"removed".*ingest session ended/);
  });

  it('ingests a camera behind a password and never shows the password', async () => {
    const url = locked.url('locked', { user: 'admin', password: PASSWORD });
    const created = await register({ id: 'cam-locked', name: 'Locked', url });
    await playlistWithSegments('cam-locked', 1, 10_000);
    const texts = [
      await created.text(),
      await (await camrelay.api('/api/v1/cameras/cam-locked')).text(),
      await (await camrelay.api('/api/v1/cameras')).text(),
      JSON.stringify(await health('cam-locked')),
    ];
    // The same camera with a wrong password: its error must be readable and still masked.
    await register({
      id: 'cam-wrong',
      name: 'Wrong',
      url: locked.url('locked', { user: 'admin', password: `${PASSWORD}x` }),
    });
    const failed = await waitFor('auth_failed', async () => {
      const h = await health('cam-wrong');
      return h.status === 'auth_failed' ? h : undefined;
    });
    expect(failed.lastError).toMatch(/401/);
    texts.push(JSON.stringify(failed));
    for (const text of [...texts, ...camrelay.logs]) expect(text).not.toContain(PASSWORD);
    expect(texts[0]).toContain('rtsp://admin:***@');
  });

  it('answers 404 for files outside a camera folder', async () => {
    for (const target of [
      '/hls/cam-h264/..%2F..%2Fetc%2Fpasswd',
      '/hls/cam-h264/index.m3u8.tmp',
      '/hls/..%2Fcam-h264/index.m3u8',
      '/hls/cam-h264/.hidden.ts',
    ]) {
      expect((await camrelay.api(target)).status).toBe(404);
    }
  });

  it('answers a missing segment of its own worker at once, without asking itself over HTTP', async () => {
    const upstreamFetches = async () =>
      (await (await camrelay.api('/metrics')).text()).match(
        /^camrelay_relay_upstream_fetches_total\{kind="segment"\} (\d+)/m,
      )?.[1] ?? '0';
    const before = await upstreamFetches();
    const startedAtMs = Date.now();
    const response = await camrelay.hls('cam-h264', 'gone-1.ts');
    expect(response.status).toBe(404);
    // Asking the owner, itself, would wait out the 5 s upstream timeout.
    expect(Date.now() - startedAtMs).toBeLessThan(1000);
    expect(await upstreamFetches()).toBe(before);
  });

  it('sums up health from kept counts', async () => {
    const summary = await (await camrelay.api('/api/v1/health')).json();
    expect(summary.workers.live).toBe(1);
    expect(summary.byStatus.online).toBeGreaterThanOrEqual(4);
    expect(summary.byStatus.auth_failed).toBe(1);
    expect(summary.total).toBe(
      Object.values(summary.byStatus as Record<string, number>).reduce((a, b) => a + b, 0),
    );
  });
});
