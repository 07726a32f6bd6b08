import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Hls from 'hls.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RtspCameras, startRtspCameras } from '../../src/demo/rtsp-cameras.js';
import { HLS_CONFIG } from '../../web/wall/hls-config.js';
import { launchChromium } from '../support/browser.js';
import { type CliRun, killAll, runCli } from '../support/cli.js';
import { PartClock } from '../support/llhls.js';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';
import { sleep, waitFor } from '../support/wait.js';

const PLAY_SEC = 30;
/** hls.js as it ships (the wall bundles the same package); served by the test, never from a CDN. */
const HLS_JS = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');

/** What the page counted while it played, read from the page. */
interface PlayerState {
  startedAtMs: number | null;
  currentTime: number;
  /**
   * `waiting` events after playback first started, with how long the picture stood still until `playing`
   * (null: it never played again).
   */
  waits: Array<{ atMs: number; currentTime: number; buffered: string; stoodMs: number | null }>;
  errors: Array<{ type: string; details: string; fatal: boolean; file?: string; reason?: string }>;
  /** Each part hls.js loaded: its file name and when it had it (Date.now() in the page, same machine). */
  parts: Array<{ name: string; requestedAtMs: number; loadedAtMs: number }>;
  fragmentsLoaded: number;
  latency: number;
  targetLatency: number | null;
  playbackRate: number;
  lowLatencyMode: boolean;
  /** The playlist as hls.js read it: LL tags it found. */
  partTarget: number | null;
  canBlockReload: boolean;
  droppedFrames: number;
  totalFrames: number;
}

type PageState = Omit<
  PlayerState,
  'currentTime' | 'latency' | 'targetLatency' | 'playbackRate' | 'droppedFrames' | 'totalFrames'
>;

interface PlayerWindow {
  Hls: typeof Hls;
  player: { hls: Hls; state: PageState };
}

/**
 * A page on the relay's own origin (so its HLS requests are same-origin, as the wall's are) that plays one
 * camera with hls.js and the wall's settings, and records stalls, errors and the parts it loaded.
 */
async function openPlayer(browser: Browser, playlistUrl: string): Promise<Page> {
  const page = await browser.newPage();
  const { origin } = new URL(playlistUrl);
  await page.route(`${origin}/test-player/hls.js`, async (route) =>
    route.fulfill({ contentType: 'text/javascript', body: await readFile(HLS_JS, 'utf8') }),
  );
  await page.route(`${origin}/test-player/`, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: '<!doctype html><video muted autoplay playsinline></video><script src="hls.js"></script>',
    }),
  );
  await page.goto(`${origin}/test-player/`);
  await page.evaluate(
    ({ src, configJson }) => {
      const { Hls: HlsClass } = window as unknown as PlayerWindow;
      const video = document.querySelector('video') as HTMLVideoElement;
      const hls = new HlsClass(JSON.parse(configJson) as Partial<Hls['config']>);
      const state: PageState = {
        startedAtMs: null,
        waits: [],
        errors: [],
        parts: [],
        fragmentsLoaded: 0,
        lowLatencyMode: hls.config.lowLatencyMode,
        partTarget: null,
        canBlockReload: false,
      };
      video.addEventListener('playing', () => {
        state.startedAtMs ??= Date.now();
      });
      video.addEventListener('waiting', () => {
        if (state.startedAtMs === null) return;
        const { buffered } = video;
        const ranges = Array.from(
          { length: buffered.length },
          (_, i) => `${buffered.start(i)}-${buffered.end(i)}`,
        );
        state.waits.push({
          atMs: Date.now(),
          currentTime: video.currentTime,
          buffered: ranges.join(','),
          stoodMs: null,
        });
      });
      video.addEventListener('playing', () => {
        const wait = state.waits.at(-1);
        if (wait && wait.stoodMs === null) wait.stoodMs = Date.now() - wait.atMs;
      });
      hls.on(HlsClass.Events.ERROR, (_event, data) => {
        const url = data.part?.url ?? data.frag?.url ?? data.url;
        const file = url ? new URL(url).pathname.split('/').at(-1) : undefined;
        const reason = data.reason ?? data.error?.message;
        state.errors.push({ type: data.type, details: data.details, fatal: data.fatal, file, reason });
      });
      hls.on(HlsClass.Events.FRAG_LOADED, (_event, data) => {
        if (!data.part) {
          state.fragmentsLoaded++;
          return;
        }
        const name = new URL(data.part.url).pathname.split('/').at(-1) ?? '';
        const requestedAtMs = performance.timeOrigin + data.part.stats.loading.start;
        state.parts.push({ name, loadedAtMs: Date.now(), requestedAtMs });
      });
      hls.on(HlsClass.Events.LEVEL_UPDATED, (_event, data) => {
        state.partTarget = data.details.partTarget || null;
        state.canBlockReload = data.details.canBlockReload;
      });
      hls.loadSource(src);
      hls.attachMedia(video);
      (window as unknown as PlayerWindow).player = { hls, state };
    },
    // As JSON: the config's type is too deep for playwright's argument types; its values are plain data.
    { src: playlistUrl, configJson: JSON.stringify(HLS_CONFIG) },
  );
  return page;
}

function playerState(page: Page): Promise<PlayerState> {
  return page.evaluate(() => {
    const { hls, state } = (window as unknown as PlayerWindow).player;
    const video = document.querySelector('video') as HTMLVideoElement;
    const quality = video.getVideoPlaybackQuality();
    return {
      ...state,
      waits: state.waits.map((wait) => ({ ...wait })),
      errors: [...state.errors],
      parts: [...state.parts],
      currentTime: video.currentTime,
      latency: hls.latency,
      targetLatency: hls.targetLatency,
      playbackRate: video.playbackRate,
      droppedFrames: quality.droppedVideoFrames,
      totalFrames: quality.totalVideoFrames,
    };
  });
}

/** A wait a viewer sees: the picture stands still for this long (two and a half frames) or more. */
const VISIBLE_STALL_MS = 100;

function stalls(state: PlayerState): PlayerState['waits'] {
  return state.waits.filter((wait) => wait.stoodMs === null || wait.stoodMs >= VISIBLE_STALL_MS);
}

interface PlayRun {
  first: PlayerState;
  last: PlayerState;
  wallSec: number;
  /** Per part loaded while playing: from its completion in the packager to hls.js having it. */
  deliveryMs: number[];
}

/** Plays for PLAY_SEC once playback has started, and says what happened, with a latency sample each second. */
async function playFor(page: Page, clock: PartClock, label: string): Promise<PlayRun> {
  await waitFor('playback started', async () => (await playerState(page)).startedAtMs !== null, {
    timeoutMs: 20_000,
    intervalMs: 100,
  });
  const first = await playerState(page);
  const startedAtMs = Date.now();
  const latencies: string[] = [];
  while (Date.now() - startedAtMs < PLAY_SEC * 1000) {
    await sleep(1000);
    const state = await playerState(page);
    latencies.push(`${state.latency.toFixed(2)}${state.playbackRate === 1 ? '' : `x${state.playbackRate}`}`);
  }
  const last = await playerState(page);
  const wallSec = (Date.now() - startedAtMs) / 1000;
  const delivered = last.parts.slice(first.parts.length).flatMap((part) => {
    const completion = clock.completion(part.name);
    if (!completion) return [];
    const early = part.requestedAtMs < completion.completedAtMs;
    const ms = Math.round(part.loadedAtMs - Math.max(completion.completedAtMs, part.requestedAtMs));
    return [{ ...part, early, ms }];
  });
  const deliveryMs = delivered.map((d) => d.ms);
  const sorted = [...deliveryMs].sort((a, b) => a - b);
  const waitContext = last.waits.map((wait) => {
    const before = delivered.filter((d) => d.loadedAtMs <= wait.atMs).slice(-3);
    return `${JSON.stringify(wait)} after parts ${before.map((d) => `${d.name}+${d.ms}ms`).join(', ')}`;
  });
  console.info(
    `${label}: played ${(last.currentTime - first.currentTime).toFixed(2)} s in ${wallSec.toFixed(2)} s, ` +
      `stalls ${stalls(last).length}, waiting events ${last.waits.length}${waitContext.length ? ` [${waitContext.join('; ')}]` : ''}, ` +
      `errors ${JSON.stringify(last.errors)}, parts ${last.parts.length}, whole segments ${last.fragmentsLoaded}, ` +
      `frames ${last.totalFrames} (dropped ${last.droppedFrames}), ` +
      `latency ${last.latency.toFixed(2)} s (target ${last.targetLatency?.toFixed(2)}); ` +
      `parts in the browser after completing: median ${sorted[Math.floor(sorted.length / 2)]} ms, ` +
      `max ${sorted.at(-1)} ms over ${sorted.length} (${delivered.filter((d) => d.early).length} asked for before they existed); latency each second: ${latencies.join(' ')}`,
  );
  return { first, last, wallSec, deliveryMs };
}

function expectSmoothLowLatency({ first, last, wallSec, deliveryMs }: PlayRun): void {
  expect(last.lowLatencyMode).toBe(true);
  expect(last.partTarget).toBe(0.2);
  expect(last.canBlockReload).toBe(true);
  // hls.js fetched parts, not only whole segments, and had them a moment after they were complete (or after
  // it asked, for parts it asked for later): typically a few tens of ms; the slowest on a busy two-core
  // machine a few hundred.
  expect(last.parts.length - first.parts.length).toBeGreaterThan(PLAY_SEC);
  expect(deliveryMs.length).toBeGreaterThan(PLAY_SEC);
  const sorted = [...deliveryMs].sort((a, b) => a - b);
  expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(150);
  expect(sorted.at(-1)).toBeLessThan(1000);
  expect(last.errors.filter((e) => e.fatal)).toEqual([]);
  expect(last.errors.filter((e) => e.details === 'bufferStalledError')).toEqual([]);
  expect(stalls(last)).toEqual([]);
  // Live video advances with the wall clock: a little faster while hls.js catches up, never far off.
  const playedSec = last.currentTime - first.currentTime;
  expect(playedSec).toBeGreaterThan(wallSec - 3);
  expect(playedSec).toBeLessThan(wallSec + 3);
  expect(last.totalFrames - first.totalFrames).toBeGreaterThan(25 * (wallSec - 3));
  expect(last.latency).toBeGreaterThan(0);
  expect(last.latency).toBeLessThan(1.5);
}

/** The signed playlist URL the API gives a viewer. */
async function signedPlaylist(camrelay: TestCamrelay, cameraId: string): Promise<URL> {
  const response = await camrelay.api(`/api/v1/cameras/${cameraId}/stream`);
  expect(response.status).toBe(200);
  return new URL((await response.json()).url);
}

/**
 * One camera, one packager, two ways to it: camrelay `all` serving from its memory, and `camrelay relay`
 * in a process of its own (as on another host) that forwards every request, blocking ones included, to it.
 * The two players run side by side so the file stays within a minute.
 */
describe('LL-HLS in Chromium with hls.js', () => {
  let cameras: RtspCameras;
  let camrelay: TestCamrelay;
  let relay: CliRun;
  let relayDataDir: string;
  let browser: Browser;
  let clock: PartClock;

  beforeAll(async () => {
    clock = new PartClock();
    cameras = await startRtspCameras({ mounts: [{ name: 'll-browser', kind: 'h264' }] });
    camrelay = await startTestCamrelay('all');
    relayDataDir = await mkdtemp(path.join(tmpdir(), 'camrelay-llhls-relay-'));
    relay = runCli(['relay'], {
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: camrelay.config.redis.prefix,
      CAMRELAY_SECRET_KEY: (camrelay.config.security.secretKey as Buffer).toString('hex'),
      CAMERA_NETWORKS: '127.0.0.0/8',
      DATA_DIR: relayDataDir,
      PORT: '0',
      LOG_LEVEL: 'info',
      CAMRELAY_ADMIN_TOKEN: camrelay.adminToken,
    });
    await camrelay.api('/api/v1/cameras', {
      method: 'POST',
      json: { id: 'll-browser', name: 'LL browser', url: cameras.url('ll-browser') },
    });
    await waitFor(
      'the camera online',
      async () =>
        (await (await camrelay.api('/api/v1/cameras/ll-browser/health')).json()).status === 'online',
      { timeoutMs: 20_000 },
    );
    await relay.url;
    browser = await launchChromium();
  });
  afterAll(async () => {
    clock?.stop();
    await browser?.close();
    relay?.child.kill('SIGTERM');
    await relay?.exited;
    killAll();
    await camrelay?.close();
    await cameras?.stop();
    if (relayDataDir) await rm(relayDataDir, { recursive: true, force: true });
  });

  it(`plays ${PLAY_SEC} s part by part with the wall's settings, in-process and through a relay process: no stall, no fatal error, under 1.5 s behind`, async () => {
    const direct = await signedPlaylist(camrelay, 'll-browser');
    // The same signature is good at any relay of the deployment: they share Redis and the key.
    const forwarded = new URL(`${direct.pathname}${direct.search}`, await relay.url);
    const pages = await Promise.all([openPlayer(browser, direct.href), openPlayer(browser, forwarded.href)]);
    const [inProcess, throughRelay] = await Promise.all([
      playFor(pages[0], clock, 'all role'),
      playFor(pages[1], clock, 'relay process'),
    ]);
    await Promise.all(pages.map((page) => page.close()));
    // The relay process fetched what it served from the camrelay that holds the stream: blocking playlist
    // reloads (hls.js asks about five a second) and parts.
    const metrics = await fetch(`${await relay.url}/metrics`, {
      headers: { authorization: `Bearer ${camrelay.adminToken}` },
    });
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    const upstream = (kind: string) =>
      Number(
        new RegExp(`^camrelay_relay_upstream_fetches_total\\{kind="${kind}"\\} (\\d+)`, 'm').exec(text)?.[1],
      );
    console.info(
      `relay process fetched upstream: ${upstream('playlist')} playlists, ${upstream('segment')} parts and segments`,
    );
    expect(upstream('playlist')).toBeGreaterThan(3 * PLAY_SEC);
    expect(upstream('segment')).toBeGreaterThan(3 * PLAY_SEC);
    expectSmoothLowLatency(inProcess);
    expectSmoothLowLatency(throughRelay);
  });
});
