/**
 * Time from registering a camera to its first playlist, and what one remuxing ffmpeg costs under camrelay
 * next to a bare ffmpeg doing the same job (same camera, same seconds): the bare one with ffmpeg's HLS
 * muxer, camrelay's writing fMP4 to its LL-HLS packager (HLS_MODE=ll, the default).
 *
 *   npm run bench:startup            RUNS=5 SAMPLE_SEC=30 by default; BENCH_SMOKE=1: one run, 3 s samples
 *
 * Then the time to the first frame a browser decodes: from registration for an always-on camera, from the
 * first playlist request for an on-demand one (Debian's Chromium through playwright-core).
 *
 * Real parts only: GStreamer RTSP cameras, camrelay "all" with its own Redis, ffmpeg.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type RunningCamrelay, startCamrelay } from '../src/camrelay.js';
import { loadConfig } from '../src/config/load.js';
import { type CameraKind, startRtspCameras } from '../src/demo/rtsp-cameras.js';
import { parseMediaPlaylist } from '../src/ingest/playlist.js';
import { processTable } from '../src/ingest/process-table.js';
import { createLogger } from '../src/log.js';
import { launchChromium } from '../test/support/browser.js';
import { HLS_CONFIG } from '../web/wall/hls-config.js';
import { measure, median } from './proc-stats.js';
import { bareRemuxArgv } from './support/bare-ffmpeg.js';
import { firstFrameAtMs, openFirstFramePage } from './support/first-frame-page.js';

const SMOKE = process.env.BENCH_SMOKE === '1';
const RUNS = Number(process.env.RUNS ?? (SMOKE ? 1 : 5));
const SAMPLE_SEC = Number(process.env.SAMPLE_SEC ?? (SMOKE ? 3 : 30));
const KINDS: CameraKind[] = ['h264', 'h265', 'h264+pcma'];

async function untilPlaylist(url: string, segments: number, t0: number): Promise<number> {
  for (;;) {
    const response = await fetch(url).catch(() => null);
    if (response?.ok) {
      const playlist = parseMediaPlaylist(await response.text());
      if (playlist && playlist.segments.length >= segments) return performance.now() - t0;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const ADMIN_TOKEN = `bench-${randomBytes(24).toString('hex')}`;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

function json(method: string, body: unknown): RequestInit {
  return { method, headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(body) };
}

/** The camera's signed playlist URL, as a player gets it. */
async function playlistUrl(camrelay: RunningCamrelay, id: string): Promise<string> {
  const response = await fetch(`${camrelay.url}/api/v1/cameras/${id}/stream`, { headers: auth });
  return ((await response.json()) as { url: string }).url;
}

async function timeToPlaylist(camrelay: RunningCamrelay, id: string, start: () => Promise<unknown>) {
  const t0 = performance.now();
  await start();
  const playlist = await playlistUrl(camrelay, id);
  const first = await untilPlaylist(playlist, 1, t0);
  const three = await untilPlaylist(playlist, 3, t0);
  return { first, three };
}

async function startupTimes(camrelay: RunningCamrelay, cameraUrl: (kind: CameraKind) => string) {
  const rows: string[] = [];
  for (const kind of KINDS) {
    const fresh: number[] = [];
    const freshThree: number[] = [];
    const known: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const id = `bench-${kind.replace('+', '-')}-${run}`;
      const api = `${camrelay.url}/api/v1/cameras`;
      const created = await timeToPlaylist(camrelay, id, () =>
        fetch(api, json('POST', { id, name: id, url: cameraUrl(kind) })),
      );
      fresh.push(created.first);
      freshThree.push(created.three);
      await fetch(`${api}/${id}`, json('PATCH', { enabled: false }));
      await new Promise((resolve) => setTimeout(resolve, 500));
      const restarted = await timeToPlaylist(camrelay, id, () =>
        fetch(`${api}/${id}`, json('PATCH', { enabled: true })),
      );
      known.push(restarted.first);
      await fetch(`${api}/${id}`, { method: 'DELETE', headers: auth });
    }
    const ms = (values: number[]) => `${Math.round(median(values))} ms`;
    rows.push(`| ${kind} | ${ms(fresh)} | ${ms(freshThree)} | ${ms(known)} |`);
  }
  return rows;
}

async function ingestCost(camrelay: RunningCamrelay, cameraUrl: string, dataDir: string) {
  const api = `${camrelay.url}/api/v1/cameras`;
  await fetch(api, json('POST', { id: 'bench-cost', name: 'cost', url: cameraUrl }));
  await untilPlaylist(await playlistUrl(camrelay, 'bench-cost'), 3, performance.now());
  const managed = processTable().find(
    (p) => p.argv[0]?.endsWith('ffmpeg') && p.argv.some((a) => a.includes('/bench-cost/')),
  );
  if (!managed) throw new Error('camrelay ffmpeg not found');
  const bareDir = await mkdtemp(path.join(dataDir, 'bare-'));
  const bare = spawn('ffmpeg', bareRemuxArgv(cameraUrl, bareDir), { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const usage = await measure(
    {
      'bare ffmpeg (baseline)': bare.pid as number,
      'camrelay ffmpeg': managed.pid,
      'camrelay node process (1 camera)': process.pid,
    },
    SAMPLE_SEC,
  );
  bare.kill('SIGINT');
  return Object.entries(usage).map(
    ([name, u]) =>
      `| ${name} | ${u.cpuPercentOfCore.toFixed(2)} % | ${u.rssMb.toFixed(1)} MB | ${u.pssMb.toFixed(1)} MB |`,
  );
}

/**
 * From registration (always-on) or from the first playlist request (on-demand) to the first frame Chromium
 * decodes, playing with the wall's hls.js settings.
 */
async function firstFrames(camrelay: RunningCamrelay, cameraUrl: string): Promise<string[]> {
  const browser = await launchChromium();
  const api = `${camrelay.url}/api/v1/cameras`;
  const always: number[] = [];
  const onDemand: number[] = [];
  try {
    const page = await openFirstFramePage(browser, camrelay.url);
    for (let run = 0; run < RUNS; run++) {
      const id = `bench-frame-${run}`;
      const registeredAtMs = Date.now();
      await fetch(api, json('POST', { id, name: id, url: cameraUrl }));
      always.push((await firstFrameAtMs(page, await playlistUrl(camrelay, id), HLS_CONFIG)) - registeredAtMs);
      const lazy = `bench-demand-${run}`;
      await fetch(api, json('POST', { id: lazy, name: lazy, url: cameraUrl, mode: 'on-demand' }));
      const lazyUrl = await playlistUrl(camrelay, lazy);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const requestedAtMs = Date.now();
      onDemand.push((await firstFrameAtMs(page, lazyUrl, HLS_CONFIG)) - requestedAtMs);
      for (const gone of [id, lazy]) await fetch(`${api}/${gone}`, { method: 'DELETE', headers: auth });
    }
  } finally {
    await browser.close();
  }
  const ms = (values: number[]) =>
    `${Math.round(median(values))} ms (${Math.round(Math.min(...values))}-${Math.round(Math.max(...values))})`;
  return [
    `| always-on, from registration | ${ms(always)} |`,
    `| on-demand, from the first playlist request | ${ms(onDemand)} |`,
  ];
}

async function main() {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'camrelay-bench-'));
  const cameras = await startRtspCameras({
    mounts: KINDS.map((kind) => ({ name: kind.replace('+', '-'), kind })),
  });
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'warn',
    CAMRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
  });
  const camrelay = await startCamrelay(config, 'all', createLogger('warn'));
  try {
    const startup = await startupTimes(camrelay, (kind) => cameras.url(kind.replace('+', '-')));
    const cost = await ingestCost(camrelay, cameras.url('h264'), dataDir);
    const frames = await firstFrames(camrelay, cameras.url('h264'));
    console.log(
      `\nTime to playlist, median of ${RUNS} runs (camera 640x360 25 fps, 1 s GOP; 1 s segments)\n`,
    );
    console.log(
      '| camera | first playlist, never seen before | 3 segments, never seen before | first playlist, codecs known |',
    );
    console.log('|---|---|---|---|');
    for (const row of startup) console.log(row);
    console.log(
      `\nOne remuxing ffmpeg, same camera (bare: ffmpeg's HLS muxer; camrelay: fMP4 to its LL-HLS packager), sampled side by side for ${SAMPLE_SEC} s\n`,
    );
    console.log('| process | CPU (% of one core) | RSS (median) | PSS (median) |');
    console.log('|---|---|---|---|');
    for (const row of cost) console.log(row);
    console.log(
      `\nTime to the first decoded frame in Chromium (hls.js with the wall's settings), median and range of ${RUNS} runs\n`,
    );
    console.log('| camera | first frame |');
    console.log('|---|---|');
    for (const row of frames) console.log(row);
  } finally {
    await camrelay.stop();
    await cameras.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
