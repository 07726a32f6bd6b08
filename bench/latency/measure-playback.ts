import type { Browser, Page } from 'playwright-core';
import { sleep } from '../../test/support/wait.js';

export interface PlaybackRun {
  /** The latency page (page.html), served from a loopback origin. */
  pageUrl: string;
  /** One playlist per tile: one for a single player, several for a wall played at once. */
  playlistUrls: string[];
  /** hls.js settings; {} for its defaults. Plain data: it crosses into the page as JSON. */
  hlsConfig: object;
  /** Each tile jumps back to the live edge when far behind, as the wall's tiles do (web/wall/live-edge.ts). */
  keepNearLiveEdge: boolean;
  warmupSec: number;
  durationSec: number;
}

export interface PlaybackLatency {
  /** Shown minus stamped, one per frame read, every tile's together. */
  latenciesMs: number[];
  /** Frames shown whose stamp could not be read. */
  undecoded: number;
  /** hls.js's own estimate of how far behind the live edge it plays, per tile once per batch. */
  hlsLatencySec: number[];
  /** The distance from the live edge hls.js aims at (hls.targetLatency), per tile once per batch. */
  targetLatencySec: number[];
  /** Media buffered ahead of the playhead, per tile once per batch. */
  bufferAheadSec: number[];
  /** `waiting` events of the video elements: playback ran dry (after it had started). */
  waiting: number;
  /** hls.js's non-fatal bufferStalledError reports. */
  stalls: number;
  /** Jumps back to the live edge (keepNearLiveEdge). */
  jumps: number;
  /** Seconds measured, times the tiles: what the stall counts are per. */
  tileSec: number;
  /** The protocol each HLS response came over ('h2', 'http/1.1'), as Chromium reports it, with counts. */
  protocols: Record<string, number>;
}

interface TileBatch {
  latenciesMs: number[];
  undecoded: number;
  waiting: number;
  stalls: number;
  jumps: number;
  playing: boolean;
  hlsLatencySec: number | null;
  targetLatencySec: number | null;
  playbackRate: number;
  bufferAheadSec: number | null;
}

/** What page.js hands over each time it is asked. */
interface Batch {
  fatalErrors: string[];
  tiles: TileBatch[];
}

interface LatencyPage {
  latency: {
    start(playlistUrls: string[], hlsConfig: object, keepNearLiveEdge: boolean): void;
    take(): Batch;
  };
}

const BATCH_MS = 2000;
const START_TIMEOUT_MS = 30_000;
const POLL_MS = 250;

/**
 * Plays the playlists in a fresh page, a tile each, and collects a latency per frame shown: after every
 * tile started playing and a warm-up (players settle at their distance from the live edge), for
 * `durationSec`. The page trusts any certificate (a relay's self-signed one); the protocol of each HLS
 * response is read from Chromium's network events, so a run over TLS shows whether HTTP/2 was spoken.
 */
export async function measurePlayback(browser: Browser, run: PlaybackRun): Promise<PlaybackLatency> {
  const wall = run.playlistUrls.length > 1;
  const page = await browser.newPage({
    viewport: wall ? { width: 960, height: 540 } : { width: 640, height: 360 },
    ignoreHTTPSErrors: true,
  });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  const protocols: Record<string, number> = {};
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Network.responseReceived', ({ response }) => {
    if (!response.url.includes('/hls/') && !response.url.includes('.m3u8')) return;
    const protocol = response.protocol ?? 'unknown';
    protocols[protocol] = (protocols[protocol] ?? 0) + 1;
  });
  await cdp.send('Network.enable');
  try {
    await page.goto(run.pageUrl);
    await page.evaluate(
      ([urls, config, keep]) => (globalThis as unknown as LatencyPage).latency.start(urls, config, keep),
      [run.playlistUrls, run.hlsConfig, run.keepNearLiveEdge] as const,
    );
    await untilPlaying(page, pageErrors);
    await sleep(run.warmupSec * 1000);
    await take(page, pageErrors); // the warm-up's frames
    const result: PlaybackLatency = {
      latenciesMs: [],
      undecoded: 0,
      hlsLatencySec: [],
      targetLatencySec: [],
      bufferAheadSec: [],
      waiting: 0,
      stalls: 0,
      jumps: 0,
      tileSec: 0,
      protocols,
    };
    const startMs = Date.now();
    const endMs = startMs + run.durationSec * 1000;
    while (Date.now() < endMs) {
      await sleep(Math.min(BATCH_MS, endMs - Date.now()));
      const batch = await take(page, pageErrors);
      for (const tile of batch.tiles) {
        result.latenciesMs.push(...tile.latenciesMs);
        result.undecoded += tile.undecoded;
        result.waiting += tile.waiting;
        result.stalls += tile.stalls;
        result.jumps += tile.jumps;
        if (tile.hlsLatencySec !== null) result.hlsLatencySec.push(tile.hlsLatencySec);
        if (tile.targetLatencySec !== null) result.targetLatencySec.push(tile.targetLatencySec);
        if (tile.bufferAheadSec !== null) result.bufferAheadSec.push(tile.bufferAheadSec);
      }
    }
    result.tileSec = ((Date.now() - startMs) / 1000) * run.playlistUrls.length;
    return result;
  } finally {
    await page.close();
  }
}

/** Until every tile plays. */
async function untilPlaying(page: Page, pageErrors: string[]): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const { tiles } = await take(page, pageErrors);
    const waiting = tiles.filter((tile) => !tile.playing).length;
    if (tiles.length > 0 && waiting === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${waiting} of ${tiles.length} players did not start within ${START_TIMEOUT_MS} ms`);
    await sleep(POLL_MS);
  }
}

/** One batch from the page; a player that failed fails the run rather than leave a gap in it. */
async function take(page: Page, pageErrors: string[]): Promise<Batch> {
  const batch = await page.evaluate(() => (globalThis as unknown as LatencyPage).latency.take());
  const errors = [...pageErrors, ...batch.fatalErrors];
  if (errors.length > 0) throw new Error(`the player failed: ${errors.join('; ')}`);
  return batch;
}
