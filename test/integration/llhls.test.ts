import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RtspCameras, startRtspCameras } from '../../src/demo/rtsp-cameras.js';
import {
  blockingUrl,
  listedParts,
  mediaName,
  PartClock,
  parsePlaylist,
  type SeenPart,
  type TimedResponse,
  timedGet,
} from '../support/llhls.js';
import { ffprobe } from '../support/processes.js';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';
import { sleep, waitFor } from '../support/wait.js';

/** HLS_PART_DURATION_MS's default: the PART-TARGET every playlist here must announce. */
const PART_TARGET_SEC = 0.2;
/** What "within about one part" allows on top of a part: a loaded two-core machine, never a polling period. */
const SLACK_MS = 150;
const ANSWER_BOUND_MS = PART_TARGET_SEC * 1000 + SLACK_MS;
/**
 * An answer woken by the part comes a few milliseconds after it; one found by polling every P ms comes,
 * from requests sent at different moments of a part, on average P/2 after it. The median of samples sent
 * 0 to 100 ms into a part must show no such period.
 */
const MEDIAN_LAG_BOUND_MS = 25;
const SEND_DELAYS_MS = [0, 25, 50, 75, 100];
/** What "at once" means for a request the server can judge without waiting. */
const AT_ONCE_MS = 100;

/**
 * Low-Latency HLS from a real GStreamer camera through real ffmpeg and camrelay. Part completion is read
 * from the packagers of this process (PartClock), so every "answered when the part completed" below
 * compares the response's arrival with the moment the part's last byte came from ffmpeg.
 */

/** The signed playlist URL a viewer gets from the API, for `file` (index.m3u8 or classic.m3u8). */
async function playlistUrl(camrelay: TestCamrelay, cameraId: string, file = 'index.m3u8'): Promise<URL> {
  const response = await camrelay.api(`/api/v1/cameras/${cameraId}/stream`);
  expect(response.status).toBe(200);
  const url = new URL((await response.json()).url);
  url.pathname = url.pathname.replace(/index\.m3u8$/, file);
  return url;
}

async function register(camrelay: TestCamrelay, id: string, url: string): Promise<void> {
  const response = await camrelay.api('/api/v1/cameras', { method: 'POST', json: { id, name: id, url } });
  expect(response.status).toBe(201);
}

/** The LL playlist once it lists `count` complete segments. */
async function liveWith(url: URL, count: number) {
  return waitFor(
    `${count} complete segments in ${url.pathname}`,
    async () => {
      const response = await timedGet(url);
      if (response.status !== 200) return undefined;
      const parsed = parsePlaylist(response.text);
      return parsed.manifest.segments.length >= count ? parsed : undefined;
    },
    { timeoutMs: 20_000 },
  );
}

/** The newest part a playlist lists, by name. */
function newestPart(text: string) {
  const newest = listedParts(parsePlaylist(text).manifest).at(-1);
  if (!newest) throw new Error('the playlist lists no parts');
  return mediaName(newest.uri);
}

interface HintMoment {
  /** The part whose completion the playlist below was fetched right after. */
  previous: SeenPart;
  /** The preload hint's URI, signed, as the playlist gives it. */
  hintUri: string;
  hint: ReturnType<typeof mediaName>;
}

/**
 * Right after a part completes: the playlist, and the part its preload hint names. Only a hint inside a
 * segment (part 1 to 3 of 5) is taken, since whether the next part opens a new segment depends on a
 * keyframe not seen yet, and a hint may guess that wrong (players then ask again).
 */
async function hintAfterPart(clock: PartClock, url: URL): Promise<HintMoment> {
  const { run } = newestPart((await timedGet(url)).text);
  for (let attempt = 0; attempt < 40; attempt++) {
    const previous = await clock.next(run);
    const response = await timedGet(url);
    expect(response.status).toBe(200);
    const { manifest } = parsePlaylist(response.text);
    const hintUri = manifest.preloadSegment?.preloadHints?.[0]?.uri;
    if (!hintUri) throw new Error(`no preload hint in\n${response.text}`);
    const hint = mediaName(hintUri);
    const newest = newestPart(response.text);
    // Another part may have come meanwhile (or a relay answered from a copy a moment old): look again.
    if (newest.name !== previous.name) continue;
    if (hint.msn === previous.msn && hint.part !== null && hint.part >= 1 && hint.part <= 3) {
      return { previous, hintUri, hint };
    }
  }
  throw new Error('no preload hint inside a segment after 40 parts');
}

interface BlockingSample {
  playlist: TimedResponse;
  file: TimedResponse;
  completed: SeenPart;
  /** Arrival of the playlist, and of the part file, after the part completed. */
  playlistLagMs: number;
  fileLagMs: number;
  /** From the previous part's completion to sending the requests. */
  sentAfterPreviousMs: number;
  /** From sending the requests to the part's completion: how long the server had to hold them. */
  sentBeforeMs: number;
}

/**
 * What a LL-HLS player does right after a part: a blocking reload for the hinted part, and the hinted part
 * itself, both sent before it exists.
 */
async function blockingSample(clock: PartClock, url: URL, sendDelayMs: number): Promise<BlockingSample> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const { previous, hintUri, hint } = await hintAfterPart(clock, url);
    await sleep(sendDelayMs - (Date.now() - previous.completedAtMs));
    const [playlist, file] = await Promise.all([
      timedGet(blockingUrl(url, hint.msn, hint.part ?? 0)),
      timedGet(new URL(hintUri, url)),
    ]);
    const completed = await clock.completed(hint.name, 1000);
    // ffmpeg hands over fragments as the camera's packets come, now and then two close together: a part
    // that was complete before the requests went out tells nothing of blocking, so that one is taken again.
    if (completed.completedAtMs <= playlist.sentAtMs) continue;
    return {
      playlist,
      file,
      completed,
      playlistLagMs: playlist.arrivedAtMs - completed.completedAtMs,
      fileLagMs: file.arrivedAtMs - completed.completedAtMs,
      sentAfterPreviousMs: playlist.sentAtMs - previous.completedAtMs,
      sentBeforeMs: completed.completedAtMs - playlist.sentAtMs,
    };
  }
  throw new Error('the hinted part was complete before the request five times in a row');
}

function expectBlockingAnswered(sample: BlockingSample): void {
  const { playlist, file, completed } = sample;
  expect(playlist.status).toBe(200);
  const parts = listedParts(parsePlaylist(playlist.text).manifest).map((p) => mediaName(p.uri).name);
  expect(parts).toContain(completed.name);
  // It was held: sent before this part existed, and answered only once it did (it lists it).
  expect(sample.sentBeforeMs).toBeGreaterThan(0);
  expect(playlist.elapsedMs).toBeGreaterThanOrEqual(sample.sentBeforeMs);
  // Answered when the part was there, not before, and not a polling period later.
  expect(sample.playlistLagMs).toBeGreaterThanOrEqual(0);
  expect(sample.playlistLagMs).toBeLessThanOrEqual(ANSWER_BOUND_MS);
  expect(file.status).toBe(200);
  expect(file.body.subarray(4, 8).toString('latin1')).toBe('moof');
  expect(sample.fileLagMs).toBeGreaterThanOrEqual(0);
  expect(sample.fileLagMs).toBeLessThanOrEqual(ANSWER_BOUND_MS);
}

function expectNoPollingPeriod(samples: BlockingSample[]): void {
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  // Most were held a good part of a part: these were blocking requests, not answers from what was there.
  expect(median(samples.map((s) => s.playlist.elapsedMs))).toBeGreaterThanOrEqual(
    (PART_TARGET_SEC * 1000) / 2,
  );
  expect(median(samples.map((s) => s.playlistLagMs))).toBeLessThanOrEqual(MEDIAN_LAG_BOUND_MS);
  expect(median(samples.map((s) => s.fileLagMs))).toBeLessThanOrEqual(MEDIAN_LAG_BOUND_MS);
}

function describeSample(sample: BlockingSample): string {
  return (
    `${sample.completed.name}: sent ${sample.sentAfterPreviousMs} ms into the part before, playlist held ${sample.playlist.elapsedMs} ms, ` +
    `arrived ${sample.playlistLagMs} ms after the part completed; part file ${sample.fileLagMs} ms after`
  );
}

async function errorCode(response: TimedResponse): Promise<string | undefined> {
  try {
    return (JSON.parse(response.text) as { code?: string }).code;
  } catch {
    return undefined;
  }
}

describe('LL-HLS in one process (all role)', () => {
  let cameras: RtspCameras;
  let camrelay: TestCamrelay;
  let clock: PartClock;
  let url: URL;

  beforeAll(async () => {
    clock = new PartClock();
    cameras = await startRtspCameras({
      mounts: [
        { name: 'll-main', kind: 'h264' },
        { name: 'll-stall', kind: 'h264' },
        { name: 'll-stop', kind: 'h264' },
      ],
    });
    camrelay = await startTestCamrelay('all');
    await register(camrelay, 'll-main', cameras.url('ll-main'));
    url = await playlistUrl(camrelay, 'll-main');
    await liveWith(url, 3);
  });
  afterAll(async () => {
    clock?.stop();
    await camrelay?.close();
    await cameras?.stop();
  });

  it('serves an LL playlist m3u8-parser reads as LL-HLS, and a classic one of the same complete segments', async () => {
    const response = await timedGet(url);
    expect(response.status).toBe(200);
    const { manifest, warnings } = parsePlaylist(response.text);
    expect(warnings).toEqual([]);
    expect(manifest.version).toBe(9);
    expect(manifest.targetDuration).toBe(1);
    expect(manifest.serverControl?.canBlockReload).toBe(true);
    expect(manifest.partInf?.partTarget).toBe(PART_TARGET_SEC);
    // The spec's floor is two part targets; hls.js aims its latency at this.
    expect(manifest.serverControl?.partHoldBack).toBeGreaterThanOrEqual(2 * PART_TARGET_SEC);
    expect(manifest.serverControl?.partHoldBack).toBeLessThanOrEqual(1);

    const withParts = manifest.segments.filter((s) => s.parts?.length);
    expect(withParts.length).toBeGreaterThanOrEqual(1);
    for (const segment of withParts) {
      const parts = segment.parts ?? [];
      expect(mediaName(parts[0]?.uri ?? '').part).toBe(0);
      expect(parts[0]?.independent).toBe(true);
      for (const part of parts) {
        expect(mediaName(part.uri).msn).toBe(mediaName(segment.uri).msn);
        expect(part.duration).toBeGreaterThan(0);
        expect(part.duration).toBeLessThanOrEqual(PART_TARGET_SEC + 0.001);
        expect(part.uri).toMatch(/\?(.*&)?sig=/);
      }
      const partsSec = parts.reduce((sum, p) => sum + p.duration, 0);
      expect(partsSec).toBeCloseTo(segment.duration, 2);
    }
    // Complete segments start at keyframes, about a second each (the cameras' GOP).
    for (const segment of manifest.segments) {
      expect(segment.duration).toBeGreaterThan(0.7);
      expect(segment.duration).toBeLessThan(1.5);
      expect(segment.uri).toMatch(/\?(.*&)?sig=/);
    }
    // Every segment carries its wall-clock time; they follow each other by their durations.
    const dated = [...manifest.segments];
    for (const segment of dated) expect(segment.dateTimeString).toBeDefined();
    for (let i = 1; i < dated.length; i++) {
      const gapMs =
        Date.parse(dated[i]?.dateTimeString ?? '') - Date.parse(dated[i - 1]?.dateTimeString ?? '');
      expect(Math.abs(gapMs - (dated[i - 1]?.duration ?? 0) * 1000)).toBeLessThan(50);
    }
    const openSegment = manifest.preloadSegment;
    expect(openSegment?.dateTimeString).toBeDefined();
    expect(Math.abs(Date.parse(openSegment?.dateTimeString ?? '') - Date.now())).toBeLessThan(3000);

    // The preload hint names the part after the newest one.
    const hints = openSegment?.preloadHints ?? [];
    expect(hints).toHaveLength(1);
    expect(hints[0]?.type).toBe('PART');
    const hint = mediaName(hints[0]?.uri ?? '');
    const newest = newestPart(response.text);
    expect([`${newest.msn}-${(newest.part ?? 0) + 1}`, `${newest.msn + 1}-0`]).toContain(
      `${hint.msn}-${hint.part}`,
    );
    expect(hint.run).toBe(newest.run);

    // A complete segment is its parts, byte for byte.
    const segment = withParts[0];
    const whole = await timedGet(new URL(segment?.uri ?? '', url));
    expect(whole.status).toBe(200);
    const pieces = await Promise.all((segment?.parts ?? []).map((p) => timedGet(new URL(p.uri, url))));
    expect(pieces.map((p) => p.status).every((status) => status === 200)).toBe(true);
    expect(Buffer.concat(pieces.map((p) => p.body)).equals(whole.body)).toBe(true);

    // classic.m3u8: the same window's complete segments, no LL tags. Fetched together until both show the
    // same window (a segment may complete between the two).
    const classicUrl = await playlistUrl(camrelay, 'll-main', 'classic.m3u8');
    const pair = await waitFor(
      'LL and classic playlists of the same window',
      async () => {
        const [ll, classic] = await Promise.all([timedGet(url), timedGet(classicUrl)]);
        const llManifest = parsePlaylist(ll.text).manifest;
        const parsed = parsePlaylist(classic.text);
        expect(classic.status).toBe(200);
        const names = (m: typeof llManifest) => m.segments.map((s) => mediaName(s.uri).name).join(',');
        return names(llManifest) === names(parsed.manifest) ? { llManifest, classic: parsed } : undefined;
      },
      { timeoutMs: 5000, intervalMs: 50 },
    );
    expect(pair.classic.warnings).toEqual([]);
    const classic = pair.classic.manifest;
    expect(classic.segments.length).toBeGreaterThanOrEqual(3);
    expect(classic.mediaSequence).toBe(pair.llManifest.mediaSequence);
    expect(classic.segments.map((s) => s.duration)).toEqual(pair.llManifest.segments.map((s) => s.duration));
    expect(classic.segments.every((s) => !s.parts?.length)).toBe(true);
    expect(classic.preloadSegment).toBeUndefined();
    expect(classic.partInf).toBeUndefined();
    expect(classic.serverControl).toBeUndefined();
    expect(classic.segments[0]?.map?.uri).toMatch(/^[A-Za-z0-9]+-init\.mp4\?/);

    // Served from memory: without HLS_WRITE_DISK nothing of the stream is on disk.
    const dir = path.join(camrelay.config.hlsRoot, 'll-main');
    const onDisk = existsSync(dir) ? await readdir(dir) : [];
    expect(onDisk.filter((f) => /\.(m4s|mp4|m3u8|ts)$/.test(f))).toEqual([]);
  });

  it('answers a blocking reload for the preload-hinted part, and the part itself, when the part completes', async () => {
    const samples: BlockingSample[] = [];
    for (const delayMs of SEND_DELAYS_MS) samples.push(await blockingSample(clock, url, delayMs));
    for (const sample of samples) console.info(`in-process: ${describeSample(sample)}`);
    for (const sample of samples) expectBlockingAnswered(sample);
    expectNoPollingPeriod(samples);
  });

  it('answers 400 at once for a request too far ahead or malformed, never 500', async () => {
    const edge = newestPart((await timedGet(url)).text);
    const refused = [
      blockingUrl(url, edge.msn + 3),
      blockingUrl(url, edge.msn + 3, 0),
      // Two segments ahead is allowed, but not 20 parts into the second: past the Advance Part Limit (15).
      blockingUrl(url, edge.msn + 2, 20),
    ];
    for (const target of refused) {
      const response = await timedGet(target);
      console.info(
        `${target.search.replace(/.*(_HLS_msn)/, '$1')}: ${response.status} in ${response.elapsedMs} ms`,
      );
      expect(response.status).toBe(400);
      expect(await errorCode(response)).toBe('CAMRELAY_ERR_HLS_DIRECTIVE_INVALID');
      expect(response.elapsedMs).toBeLessThan(AT_ONCE_MS);
    }
    const malformed: Array<Record<string, string>> = [
      { _HLS_part: '1' },
      { _HLS_msn: 'abc' },
      { _HLS_msn: String(edge.msn), _HLS_part: 'x' },
      { _HLS_msn: '-1' },
      { _HLS_msn: '1.5' },
      { _HLS_msn: '1e3' },
      { _HLS_msn: '' },
      { _HLS_msn: '9'.repeat(20) },
      { _HLS_msn: '9'.repeat(40) },
    ];
    for (const query of malformed) {
      const target = new URL(url);
      for (const [name, value] of Object.entries(query)) target.searchParams.set(name, value);
      const response = await timedGet(target);
      expect(response.status, JSON.stringify(query)).toBe(400);
      expect(response.elapsedMs, JSON.stringify(query)).toBeLessThan(AT_ONCE_MS);
    }
  });

  it('answers at once a request for what is already there: an older segment, or one of its parts', async () => {
    const { manifest } = parsePlaylist((await timedGet(url)).text);
    const oldest = mediaName(manifest.segments[0]?.uri ?? '');
    const lastComplete = mediaName(manifest.segments.at(-1)?.uri ?? '');
    for (const target of [
      blockingUrl(url, oldest.msn),
      blockingUrl(url, oldest.msn, 0),
      blockingUrl(url, lastComplete.msn),
      blockingUrl(url, lastComplete.msn, 2),
      blockingUrl(url, 0),
    ]) {
      const response = await timedGet(target);
      expect(response.status).toBe(200);
      expect(response.elapsedMs, target.search).toBeLessThan(AT_ONCE_MS);
      expect(parsePlaylist(response.text).manifest.segments.length).toBeGreaterThanOrEqual(3);
    }
  });

  it('answers the preload-hinted part, asked for alone before it exists, once it is complete', async () => {
    let asked: {
      hintUri: string;
      hint: HintMoment['hint'];
      file: TimedResponse;
      completed: SeenPart;
    } | null = null;
    for (let attempt = 0; attempt < 5 && !asked; attempt++) {
      const { hintUri, hint } = await hintAfterPart(clock, url);
      const file = await timedGet(new URL(hintUri, url));
      const completed = await clock.completed(hint.name, 1000);
      // As in blockingSample: only a part that did not exist yet when asked for shows the hold.
      if (completed.completedAtMs > file.sentAtMs) asked = { hintUri, hint, file, completed };
    }
    if (!asked) throw new Error('the hinted part was complete before the request five times in a row');
    const { hintUri, hint, file, completed } = asked;
    const lagMs = file.arrivedAtMs - completed.completedAtMs;
    console.info(
      `hinted part ${hint.name} alone: held ${file.elapsedMs} ms, arrived ${lagMs} ms after it completed`,
    );
    expect(file.status).toBe(200);
    expect(file.body.subarray(4, 8).toString('latin1')).toBe('moof');
    expect(file.elapsedMs).toBeGreaterThanOrEqual(completed.completedAtMs - file.sentAtMs);
    expect(lagMs).toBeGreaterThanOrEqual(0);
    expect(lagMs).toBeLessThanOrEqual(ANSWER_BOUND_MS);
    // The same bytes when asked again, now that it exists.
    const again = await timedGet(new URL(hintUri, url));
    expect(again.body.equals(file.body)).toBe(true);
    // A part that will never exist (past the end of a complete segment) is a 404 at once, not a held request.
    const { manifest } = parsePlaylist((await timedGet(url)).text);
    const complete = mediaName(manifest.segments.at(-1)?.uri ?? '');
    const never = await timedGet(
      new URL(`${complete.run}-${complete.msn}-9.m4s${new URL(hintUri, url).search}`, url),
    );
    expect(never.status).toBe(404);
    expect(never.elapsedMs).toBeLessThan(AT_ONCE_MS);
  });

  it('gives up on a held request with 503 after three target durations when the camera sends nothing', async () => {
    await register(camrelay, 'll-stall', cameras.url('ll-stall'));
    const stallUrl = await playlistUrl(camrelay, 'll-stall');
    await liveWith(stallUrl, 1);
    await cameras.pause('ll-stall');
    try {
      // Frames already on their way may still make a part or two.
      await sleep(500);
      const edge = newestPart((await timedGet(stallUrl)).text);
      const held = await timedGet(blockingUrl(stallUrl, edge.msn + 1, 0));
      console.info(`stalled camera: ${held.status} after ${held.elapsedMs} ms`);
      expect(held.status).toBe(503);
      expect(await errorCode(held)).toBe('CAMRELAY_ERR_HLS_PART_TIMEOUT');
      expect(held.elapsedMs).toBeGreaterThanOrEqual(2900);
      expect(held.elapsedMs).toBeLessThan(4000);
    } finally {
      await cameras.resume('ll-stall');
    }
  });

  it('answers held requests promptly when the camera is disabled, not at the end of the hold', async () => {
    await register(camrelay, 'll-stop', cameras.url('ll-stop'));
    const stopUrl = await playlistUrl(camrelay, 'll-stop');
    await liveWith(stopUrl, 2);
    const { hintUri } = await hintAfterPart(clock, stopUrl);
    const edge = newestPart((await timedGet(stopUrl)).text);
    // Two segments ahead: they would take more than a second to come, and would then be a 200. A part
    // file that far ahead is held too, like the hinted one.
    const farPart = new URL(`${edge.run}-${edge.msn + 2}-0.m4s${new URL(hintUri, stopUrl).search}`, stopUrl);
    const pending = Promise.all([
      timedGet(blockingUrl(stopUrl, edge.msn + 2, 0)),
      timedGet(blockingUrl(stopUrl, edge.msn + 2)),
      timedGet(farPart),
    ]);
    await sleep(50);
    const disabledAtMs = Date.now();
    const patched = await camrelay.api('/api/v1/cameras/ll-stop', {
      method: 'PATCH',
      json: { enabled: false },
    });
    expect(patched.status).toBe(200);
    const held = await pending;
    const sinceStop = (r: TimedResponse) => r.arrivedAtMs - disabledAtMs;
    console.info(
      `disabled camera: held (msn+2, part 0), (msn+2), part file: ${held.map((r) => r.status).join('/')}, ` +
        `${held.map(sinceStop).join('/')} ms after the PATCH`,
    );
    for (const response of held) {
      // Not the 503 of a hold that ran out: the stream is gone, and said so as soon as it went.
      expect(response.status).toBe(404);
      expect(response.elapsedMs).toBeGreaterThanOrEqual(50);
      expect(sinceStop(response)).toBeLessThan(1500);
    }
    const afterwards = await timedGet(stopUrl);
    expect(afterwards.status).toBe(404);
    expect(afterwards.elapsedMs).toBeLessThan(AT_ONCE_MS);
  });
});

describe('LL-HLS through a relay in front of a worker', () => {
  let cameras: RtspCameras;
  let relay: TestCamrelay;
  let worker: TestCamrelay;
  let clock: PartClock;
  let url: URL;

  beforeAll(async () => {
    clock = new PartClock();
    cameras = await startRtspCameras({ mounts: [{ name: 'll-far', kind: 'h264' }] });
    // Two camrelays as on two hosts: each its own data folder (the relay's HLS folder stays empty), one
    // Redis prefix and key. The worker runs in this process so its parts can be timed; the relay reaches
    // it over HTTP only.
    relay = await startTestCamrelay('relay');
    worker = await startTestCamrelay('worker', {
      REDIS_PREFIX: relay.config.redis.prefix,
      CAMRELAY_SECRET_KEY: (relay.config.security.secretKey as Buffer).toString('hex'),
    });
    await register(relay, 'll-far', cameras.url('ll-far'));
    url = await playlistUrl(relay, 'll-far');
    await liveWith(url, 2);
  });
  afterAll(async () => {
    clock?.stop();
    await worker?.close();
    await relay?.close();
    await cameras?.stop();
  });

  it('carries a blocking reload to the worker and answers it when the part completes there', async () => {
    const health = await (await relay.api('/api/v1/cameras/ll-far/health')).json();
    expect(health.workerId).toBe(worker.config.worker.id);
    const { manifest } = parsePlaylist((await timedGet(url)).text);
    expect(manifest.partInf?.partTarget).toBe(PART_TARGET_SEC);
    const samples: BlockingSample[] = [];
    for (const delayMs of SEND_DELAYS_MS) samples.push(await blockingSample(clock, url, delayMs));
    for (const sample of samples) console.info(`through the relay: ${describeSample(sample)}`);
    for (const sample of samples) expectBlockingAnswered(sample);
    expectNoPollingPeriod(samples);
    const metrics = await (await relay.api('/metrics')).text();
    const upstream = Number(
      /^camrelay_relay_upstream_fetches_total\{kind="playlist"\} (\d+)/m.exec(metrics)?.[1],
    );
    expect(upstream).toBeGreaterThanOrEqual(5);
    expect(existsSync(path.join(relay.config.hlsRoot, 'll-far'))).toBe(false);
  });

  it('answers 400 for a request too far ahead through the relay too, at once', async () => {
    const edge = newestPart((await timedGet(url)).text);
    for (const target of [blockingUrl(url, edge.msn + 3), blockingUrl(url, edge.msn + 2, 20)]) {
      const response = await timedGet(target);
      console.info(
        `through the relay, ${target.search.replace(/.*(_HLS_msn)/, '$1')}: ${response.status} in ${response.elapsedMs} ms`,
      );
      expect(response.status).toBe(400);
      expect(await errorCode(response)).toBe('CAMRELAY_ERR_HLS_DIRECTIVE_INVALID');
      expect(response.elapsedMs).toBeLessThan(AT_ONCE_MS);
    }
    const malformed = new URL(url);
    malformed.searchParams.set('_HLS_part', '2');
    expect((await timedGet(malformed)).status).toBe(400);
  });
});

describe('HLS_MODE=classic', () => {
  let cameras: RtspCameras;
  let camrelay: TestCamrelay;

  beforeAll(async () => {
    cameras = await startRtspCameras({ mounts: [{ name: 'classic', kind: 'h264' }] });
    camrelay = await startTestCamrelay('all', { HLS_MODE: 'classic' });
    await register(camrelay, 'cam-classic', cameras.url('classic'));
  });
  afterAll(async () => {
    await camrelay?.close();
    await cameras?.stop();
  });

  it("serves ffmpeg's MPEG-TS playlist and .ts segments, without LL tags", async () => {
    const url = await playlistUrl(camrelay, 'cam-classic');
    const { manifest, warnings } = await liveWith(url, 2);
    expect(warnings).toEqual([]);
    expect(manifest.partInf).toBeUndefined();
    expect(manifest.serverControl).toBeUndefined();
    expect(manifest.preloadSegment).toBeUndefined();
    expect(manifest.segments[0]?.map).toBeUndefined();
    for (const segment of manifest.segments) expect(segment.uri).toMatch(/^[A-Za-z0-9_-]+\.ts\?(.*&)?sig=/);
    const newest = manifest.segments.at(-1)?.uri ?? '';
    const response = await fetch(new URL(newest, url));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('video/mp2t');
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.length).toBeGreaterThan(188 * 10);
    expect([bytes[0], bytes[188], bytes[376]]).toEqual([0x47, 0x47, 0x47]);
    const file = path.join(camrelay.config.dataDir, 'classic-probe.ts');
    await writeFile(file, bytes);
    expect((await ffprobe(file)).map((s) => s.codec_name)).toEqual(['h264']);
    // The segments are ffmpeg's files in the camera's folder.
    const onDisk = await readdir(path.join(camrelay.config.hlsRoot, 'cam-classic'));
    expect(onDisk).toContain(newest.replace(/\?.*$/, ''));
    expect(onDisk).toContain('index.m3u8');
  });
});

describe('HLS_WRITE_DISK=on in ll mode', () => {
  let cameras: RtspCameras;
  let camrelay: TestCamrelay;

  beforeAll(async () => {
    cameras = await startRtspCameras({ mounts: [{ name: 'disk', kind: 'h264' }] });
    camrelay = await startTestCamrelay('all', { HLS_WRITE_DISK: 'on', HLS_LIST_SIZE: '3' });
    await register(camrelay, 'cam-disk', cameras.url('disk'));
  });
  afterAll(async () => {
    await camrelay?.close();
    await cameras?.stop();
  });

  it('writes init, whole segments and a classic playlist to HLS_ROOT/<camera>, and deletes what leaves the window', async () => {
    expect(camrelay.config.hlsRoot).toBe(path.join(camrelay.config.dataDir, 'hls'));
    const dir = path.join(camrelay.config.hlsRoot, 'cam-disk');
    const readDiskPlaylist = async () => {
      const text = await readFile(path.join(dir, 'index.m3u8'), 'utf8').catch(() => null);
      return text === null ? undefined : parsePlaylist(text);
    };
    const first = await waitFor(
      'three segments on disk',
      async () => {
        const parsed = await readDiskPlaylist();
        return parsed && parsed.manifest.segments.length >= 3 ? parsed : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(first.warnings).toEqual([]);
    expect(first.manifest.partInf).toBeUndefined();
    expect(first.manifest.preloadSegment).toBeUndefined();
    const initName = first.manifest.segments[0]?.map?.uri ?? '';
    expect(initName).toMatch(/^[A-Za-z0-9]+-init\.mp4$/);
    const firstNames = first.manifest.segments.map((s) => s.uri);
    for (const name of firstNames) expect(name).toMatch(/^[A-Za-z0-9]+-\d+\.m4s$/);
    const files = await readdir(dir);
    expect(files).toContain(initName);
    for (const name of firstNames) expect(files).toContain(name);
    // Whole segments only: parts live in memory.
    expect(files.filter((f) => /-\d+-\d+\.m4s$/.test(f))).toEqual([]);

    // The same bytes players get over HTTP, and H.264 for ffprobe with the init in front.
    const newest = firstNames.at(-1) as string;
    const segmentBytes = await readFile(path.join(dir, newest));
    const served = await camrelay.hls('cam-disk', newest);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).equals(segmentBytes)).toBe(true);
    const probeFile = path.join(camrelay.config.dataDir, 'disk-probe.mp4');
    await writeFile(probeFile, Buffer.concat([await readFile(path.join(dir, initName)), segmentBytes]));
    expect(await ffprobe(probeFile)).toEqual([
      expect.objectContaining({ codec_type: 'video', codec_name: 'h264', width: 640, height: 360 }),
    ]);

    // Once the window has moved past the first segments, their files go.
    await waitFor(
      'the first segments out of the disk playlist',
      async () => {
        const parsed = await readDiskPlaylist();
        return parsed?.manifest.segments.every((s) => !firstNames.includes(s.uri));
      },
      { timeoutMs: 10_000 },
    );
    await waitFor(
      'their files deleted',
      () => firstNames.every((name) => !existsSync(path.join(dir, name))),
      {
        timeoutMs: 2000,
        intervalMs: 50,
      },
    );
    const segmentsOnDisk = (await readdir(dir)).filter((f) => /^[A-Za-z0-9]+-\d+\.m4s$/.test(f));
    // The window (3), and at most one written a moment before the playlist naming it.
    expect(segmentsOnDisk.length).toBeGreaterThanOrEqual(3);
    expect(segmentsOnDisk.length).toBeLessThanOrEqual(4);
    expect(await readdir(dir)).toContain(initName);
  });
});
