import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RtspCameras, startRtspCameras } from '../../src/demo/rtsp-cameras.js';
import { launchChromium } from '../support/browser.js';
import { killPublishers, publishTestPattern } from '../support/rtmp-publisher.js';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';
import { sleep, waitFor } from '../support/wait.js';

const CAMERAS = ['wall-1', 'wall-2', 'wall-3', 'wall-4'];
const ARTIFACTS = path.resolve('test-artifacts');

interface TileState {
  camera: string;
  status: string;
  alarm: boolean;
  time: number;
  frames: number;
  /** Share of bright pixels in the current frame, drawn into a canvas: 0 for a black tile. */
  brightShare: number;
}

/** What each tile shows right now, read in the page. */
function tiles(page: Page): Promise<TileState[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('.tile[data-camera]')].map((tile) => {
      const video = tile.querySelector('video') as HTMLVideoElement;
      const canvas = document.createElement('canvas');
      canvas.width = 160;
      canvas.height = 90;
      const context = canvas.getContext('2d') as CanvasRenderingContext2D;
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
      let bright = 0;
      for (let i = 0; i < pixels.length; i += 4) {
        if ((pixels[i] ?? 0) + (pixels[i + 1] ?? 0) + (pixels[i + 2] ?? 0) > 300) bright++;
      }
      return {
        camera: tile.dataset.camera ?? '',
        status: tile.dataset.status ?? '',
        alarm: tile.classList.contains('alarm'),
        time: video.currentTime,
        frames: video.getVideoPlaybackQuality().totalVideoFrames,
        brightShare: bright / (pixels.length / 4),
      };
    }),
  );
}

/** Whether the given tiles moved between two looks a second apart: time and decoded frames both grew. */
async function playing(page: Page, cameras: string[]): Promise<boolean> {
  const before = await tiles(page);
  await sleep(1000);
  const after = await tiles(page);
  return cameras.every((camera) => {
    const a = before.find((t) => t.camera === camera);
    const b = after.find((t) => t.camera === camera);
    return !!a && !!b && b.time > a.time && b.frames > a.frames;
  });
}

describe('the video wall in a real browser', () => {
  let relay: TestCamrelay;
  let cameras: RtspCameras;
  let flaky: RtspCameras;
  let browser: Browser;

  beforeAll(async () => {
    relay = await startTestCamrelay('all', { RTMP_SERVER: 'on' });
    cameras = await startRtspCameras({
      mounts: CAMERAS.slice(0, 3).map((name) => ({ name, kind: 'h264' as const })),
    });
    flaky = await startRtspCameras({ mounts: [{ name: 'wall-4', kind: 'h264' }] });
    for (const id of CAMERAS) {
      const url = id === 'wall-4' ? flaky.url(id) : cameras.url(id);
      await relay.api('/api/v1/cameras', { method: 'POST', json: { id, name: `Camera ${id}`, url } });
    }
    await relay.api('/api/v1/layouts', { method: 'POST', json: { name: 'four', grid: 4, cameras: CAMERAS } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    killPublishers();
    await browser?.close();
    await relay?.close();
    await cameras?.stop();
    await flaky?.stop();
  });

  async function openWall(query = ''): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const session = await page.request.post(`${relay.url}/api/v1/session`, {
      data: { token: relay.adminToken },
    });
    expect(session.status()).toBe(200);
    await page.goto(`${relay.url}/wall${query}`);
    return page;
  }

  it('plays every tile of a saved 4-tile layout, opened by its deep link', async () => {
    const page = await openWall('?layout=four');
    await waitFor('four tiles', async () => (await tiles(page)).length === 4, { timeoutMs: 15_000 });
    expect((await tiles(page)).map((t) => t.camera)).toEqual(CAMERAS);
    await waitFor('every tile playing', () => playing(page, CAMERAS), { timeoutMs: 30_000 });
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'wall.png') });
    // The test cameras show a ball, a name and a clock on black: a live tile has some bright pixels.
    for (const tile of await tiles(page)) expect(tile.brightShare, tile.camera).toBeGreaterThan(0.002);
    await page.close();
  });

  it('shows a dead camera offline within 10 s while the others play on, and plays it again when it is back', async () => {
    const page = await openWall('?layout=four');
    await waitFor('every tile playing', () => playing(page, CAMERAS), { timeoutMs: 30_000 });
    const port = flaky.port;
    await flaky.stop();
    const stoppedAt = Date.now();
    await waitFor(
      'the overlay on wall-4',
      async () => (await tiles(page)).find((t) => t.camera === 'wall-4')?.alarm === true,
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    console.info(`offline overlay after ${Date.now() - stoppedAt} ms`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'wall-camera-offline.png') });
    expect(await playing(page, CAMERAS.slice(0, 3))).toBe(true);
    flaky = await startRtspCameras({ port, mounts: [{ name: 'wall-4', kind: 'h264' }] });
    await waitFor(
      'wall-4 playing again, without a reload',
      async () =>
        (await tiles(page)).find((t) => t.camera === 'wall-4')?.alarm === false &&
        (await playing(page, ['wall-4'])),
      { timeoutMs: 30_000 },
    );
    await page.close();
  });

  it('saves the layout on screen, and a second page opening it by name shows the same cameras', async () => {
    const page = await openWall();
    await waitFor('four tiles', async () => (await tiles(page)).length === 4, { timeoutMs: 15_000 });
    const shown = (await tiles(page)).map((t) => t.camera);
    page.once('dialog', (dialog) => void dialog.accept('saved-wall'));
    await page.click('#save-layout');
    await waitFor('saved', async () => (await page.textContent('#message'))?.includes('saved-wall') === true);
    const second = await openWall('?layout=saved-wall');
    await waitFor('four tiles', async () => (await tiles(second)).length === 4, { timeoutMs: 15_000 });
    expect((await tiles(second)).map((t) => t.camera)).toEqual(shown);
    await Promise.all([page.close(), second.close()]);
  });

  it('plays a push camera beside RTSP ones, and shows it offline when its encoder drops', async () => {
    const created = await relay.api('/api/v1/cameras', {
      method: 'POST',
      json: { id: 'wall-push', name: 'Patrol car', source: 'push' },
    });
    const publisher = publishTestPattern((await created.json()).publishUrl);
    const mixed = [...CAMERAS.slice(0, 3), 'wall-push'];
    await relay.api('/api/v1/layouts', { method: 'POST', json: { name: 'mixed', grid: 4, cameras: mixed } });
    const page = await openWall('?layout=mixed');
    await waitFor('every tile playing', () => playing(page, mixed), { timeoutMs: 30_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'wall-push.png') });
    const pushTile = async () => (await tiles(page)).find((t) => t.camera === 'wall-push');
    expect((await pushTile())?.brightShare).toBeGreaterThan(0.002);
    await publisher.kill();
    await waitFor('the overlay on the push tile', async () => (await pushTile())?.alarm === true, {
      timeoutMs: 10_000,
    });
    expect(await playing(page, CAMERAS.slice(0, 3))).toBe(true);
    await page.close();
  });
});
