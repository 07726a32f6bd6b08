import type { Browser, Page } from 'playwright-core';
import { sleep } from '../../test/support/wait.js';

export interface PlaybackRun {
  /** The latency page (page.html), served from a loopback origin. */
  pageUrl: string;
  playlistUrl: string;
  /** hls.js settings; {} for its defaults. Plain data: it crosses into the page as JSON. */
  hlsConfig: object;
  warmupSec: number;
  durationSec: number;
}

export interface PlaybackLatency {
  /** Shown minus stamped, one per frame read. */
  latenciesMs: number[];
  /** Frames shown whose stamp could not be read. */
  undecoded: number;
  /** hls.js's own estimate of how far behind the live edge it plays, once per batch. */
  hlsLatencySec: number[];
}

/** What page.js hands over each time it is asked. */
interface Batch {
  latenciesMs: number[];
  undecoded: number;
  fatalErrors: string[];
  playing: boolean;
  hlsLatencySec: number | null;
}

interface LatencyPage {
  latency: { start(playlistUrl: string, hlsConfig: object): void; take(): Batch };
}

const BATCH_MS = 2000;
const START_TIMEOUT_MS = 30_000;
const POLL_MS = 250;

/**
 * Plays one stream in a fresh page and collects a latency per frame shown: after playback started and a
 * warm-up (the player settles at its distance from the live edge), for `durationSec`.
 */
export async function measurePlayback(browser: Browser, run: PlaybackRun): Promise<PlaybackLatency> {
  const page = await browser.newPage({ viewport: { width: 640, height: 360 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  try {
    await page.goto(run.pageUrl);
    await page.evaluate(
      ([url, config]) => (globalThis as unknown as LatencyPage).latency.start(url, config),
      [run.playlistUrl, run.hlsConfig] as const,
    );
    await untilPlaying(page, pageErrors);
    await sleep(run.warmupSec * 1000);
    await take(page, pageErrors); // the warm-up's frames
    const result: PlaybackLatency = { latenciesMs: [], undecoded: 0, hlsLatencySec: [] };
    const endMs = Date.now() + run.durationSec * 1000;
    while (Date.now() < endMs) {
      await sleep(Math.min(BATCH_MS, endMs - Date.now()));
      const batch = await take(page, pageErrors);
      result.latenciesMs.push(...batch.latenciesMs);
      result.undecoded += batch.undecoded;
      if (batch.hlsLatencySec !== null) result.hlsLatencySec.push(batch.hlsLatencySec);
    }
    return result;
  } finally {
    await page.close();
  }
}

async function untilPlaying(page: Page, pageErrors: string[]): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await take(page, pageErrors)).playing) {
    if (Date.now() > deadline) throw new Error(`playback did not start within ${START_TIMEOUT_MS} ms`);
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
