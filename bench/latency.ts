/**
 * Glass-to-glass latency in a real browser: a camera stamps each frame with the time it is made, a page in
 * Chromium reads the stamp off every frame it shows, and the difference is the latency, end to end (the
 * camera and the browser share this machine's clock). camrelay's HLS, played with the wall's hls.js
 * settings, against a bare ffmpeg with the same arguments behind nginx played with hls.js's defaults; and
 * the two crossed over, so the table tells the player's part from the server's.
 *
 *   npm run bench:latency        DURATION_SEC=60 per case by default; BENCH_SMOKE=1 for about 8 s a case
 *
 * Real parts only: the GStreamer stamp camera, camrelay "all" with its own Redis, ffmpeg, nginx, Chromium.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningCamrelay, startCamrelay } from '../src/camrelay.js';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { startRtspCameras } from '../src/demo/rtsp-cameras.js';
import { resolveFfmpegPath } from '../src/ingest/ffmpeg.js';
import { parseMediaPlaylist } from '../src/ingest/playlist.js';
import { createLogger } from '../src/log.js';
import { launchChromium } from '../test/support/browser.js';
import { HLS_CONFIG } from '../web/wall/hls-config.js';
import { measurePlayback, type PlaybackLatency } from './latency/measure-playback.js';
import { writeLatencyPage } from './latency/page-files.js';
import { bareRemuxArgv } from './support/bare-ffmpeg.js';
import { startNginx } from './support/nginx.js';
import { stopChild } from './support/processes.js';

const SMOKE = process.env.BENCH_SMOKE === '1';
const DURATION_SEC = SMOKE ? 6 : Number(process.env.DURATION_SEC ?? 60);
/**
 * A player keeps the distance from the live edge it settled at, and where it settles is partly chance
 * (where in a segment it started, how old the newest segment was when it fetched the playlist): sessions
 * of one case differed by up to a second here. So each case's seconds are spread over fresh sessions of
 * about SESSION_SEC, taken in turns with the other cases, which also shares any change in the machine's
 * load evenly between them.
 */
const SESSION_SEC = 10;
const SESSIONS_PER_CASE = SMOKE ? 1 : Math.max(1, Math.round(DURATION_SEC / SESSION_SEC));
/** Long enough for a player to settle at its distance from the live edge after its first segments. */
const WARMUP_SEC = SMOKE ? 2 : 5;
/**
 * Readings outside this window are misread stamps, not latencies: nothing is shown before it is made on
 * one clock, and a live HLS player seconds behind is plausible, half a minute is not.
 */
const SANE_LATENCY_MS = { min: 0, max: 30_000 };
const CAMERA = 'latency';
const ADMIN_TOKEN = `bench-${randomBytes(24).toString('hex')}`;
const LEASH = fileURLToPath(new URL('../bin/ffmpeg-leash', import.meta.url));

type Server = 'camrelay' | 'nginx';
type Player = 'wall' | 'defaults';

interface Case {
  server: Server;
  player: Player;
}

/** The configuration under test first, then its baseline, then the two crossed over. */
const CASES: Case[] = [
  { server: 'camrelay', player: 'wall' },
  { server: 'nginx', player: 'defaults' },
  { server: 'camrelay', player: 'defaults' },
  { server: 'nginx', player: 'wall' },
];
const SERVER_LABEL: Record<Server, string> = {
  camrelay: 'camrelay (all role)',
  nginx: 'bare ffmpeg + nginx',
};
const PLAYER_LABEL: Record<Player, string> = {
  wall: "the wall's (HLS_CONFIG)",
  defaults: "hls.js's defaults",
};
const HLS_SETTINGS: Record<Player, object> = { wall: HLS_CONFIG, defaults: {} };

/** The machine's 1-minute load average after each session: the CPU is shared, and the figures show it. */
const loadAverages: number[] = [];

/** Things to stop, last started first, on the way out or on Ctrl-C. */
const stops: Array<() => Promise<unknown>> = [];

async function stopAll(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) {
    await stop().catch((err: unknown) => console.error('while stopping:', err));
  }
}

async function main() {
  if (!(DURATION_SEC > 0)) throw new Error('DURATION_SEC must be a positive number of seconds');
  const dir = await mkdtemp(path.join(tmpdir(), 'camrelay-latency-'));
  stops.push(() => rm(dir, { recursive: true, force: true }));
  await writeLatencyPage(dir);
  const { config, pageUrl, playlists } = await startStreams(dir);
  await Promise.all(Object.values(playlists).map((url) => untilSegments(url, 3)));
  const browser = await launchChromium();
  stops.push(() => browser.close());
  const sessions = new Map<Case, PlaybackLatency[]>(CASES.map((run) => [run, []]));
  for (let turn = 0; turn < SESSIONS_PER_CASE; turn++) {
    for (const run of CASES) {
      const session = await measurePlayback(browser, {
        pageUrl,
        playlistUrl: playlists[run.server],
        hlsConfig: HLS_SETTINGS[run.player],
        warmupSec: WARMUP_SEC,
        durationSec: DURATION_SEC / SESSIONS_PER_CASE,
      });
      sessions.get(run)?.push(session);
      loadAverages.push(loadavg()[0] ?? Number.NaN);
    }
  }
  printTable(
    config,
    CASES.map((run) => tableRow(run, sessions.get(run) ?? [])),
  );
}

/**
 * The stamp camera, and its stream from camrelay and from the baseline. nginx serves the page (from `dir`)
 * and the baseline's HLS; camrelay lets the page's origin in, as it would a wall's (CORS_ORIGINS).
 */
async function startStreams(dir: string) {
  const cameras = await startRtspCameras({ mounts: [{ name: CAMERA, kind: 'stamp' }] });
  stops.push(() => cameras.stop());
  const nginx = await startNginx({ root: dir });
  stops.push(() => nginx.stop());
  const config = loadConfig({
    DATA_DIR: path.join(dir, 'camrelay'),
    PORT: '0',
    LOG_LEVEL: 'warn',
    CAMRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
    CORS_ORIGINS: nginx.url,
    RTMP_SERVER: 'off', // no push cameras here, and 1935 may be another process's
  });
  const camrelay = await startCamrelay(config, 'all', createLogger('warn'));
  stops.push(() => camrelay.stop());
  const relayPlaylist = await registerCamera(camrelay, cameras.url(CAMERA));
  const bare = await startBareIngest(cameras.url(CAMERA), path.join(dir, 'bare'), config);
  stops.push(() => stopChild(bare));
  const playlists: Record<Server, string> = {
    camrelay: relayPlaylist,
    nginx: `${nginx.url}/bare/index.m3u8`,
  };
  return { config, pageUrl: `${nginx.url}/page.html`, playlists };
}

/** Registers the stamp camera and returns its signed playlist URL, as a wall gets it. */
async function registerCamera(camrelay: RunningCamrelay, cameraUrl: string): Promise<string> {
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const created = await fetch(`${camrelay.url}/api/v1/cameras`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ id: CAMERA, name: 'Latency stamp', url: cameraUrl }),
  });
  if (created.status !== 201)
    throw new Error(`camera not created: ${created.status} ${await created.text()}`);
  const stream = await fetch(`${camrelay.url}/api/v1/cameras/${CAMERA}/stream`, { headers });
  return ((await stream.json()) as { url: string }).url;
}

/** The baseline: ffmpeg with camrelay's own arguments for this camera (a remux), under the same leash. */
async function startBareIngest(cameraUrl: string, outputDir: string, config: Config): Promise<ChildProcess> {
  await mkdir(outputDir, { recursive: true });
  const argv = bareRemuxArgv(cameraUrl, outputDir, {
    ioTimeoutMs: config.ffmpeg.rtspTimeoutMs,
    segmentDurationSec: config.hls.segmentDurationSec,
    listSize: config.hls.listSize,
  });
  return spawn(LEASH, argv, {
    stdio: 'ignore',
    env: { ...process.env, CAMRELAY_FFMPEG_BIN: resolveFfmpegPath(undefined) },
  });
}

async function untilSegments(url: string, segments: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const response = await fetch(url).catch(() => null);
    const playlist = response?.ok ? parseMediaPlaylist(await response.text()) : null;
    if (playlist && playlist.segments.length >= segments) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no ${segments} segments in ${url} within 30 s`);
}

function tableRow(run: Case, sessions: PlaybackLatency[]): string {
  const sane = (session: PlaybackLatency) =>
    session.latenciesMs.filter((ms) => ms >= SANE_LATENCY_MS.min && ms <= SANE_LATENCY_MS.max);
  const all = sorted(sessions.flatMap(sane));
  const read = sessions.reduce((sum, session) => sum + session.latenciesMs.length, 0);
  const hlsLatenciesMs = sorted(
    sessions.flatMap((session) => session.hlsLatencySec.map((sec) => sec * 1000)),
  );
  const sessionMedians = sessions
    .map((session) => seconds(percentile(sorted(sane(session)), 0.5)))
    .join(', ');
  return [
    SERVER_LABEL[run.server] + (run.server === 'nginx' && run.player === 'defaults' ? ' (baseline)' : ''),
    PLAYER_LABEL[run.player],
    all.length,
    sessions.reduce((sum, session) => sum + session.undecoded, 0),
    read - all.length,
    milliseconds(percentile(all, 0.5)),
    milliseconds(percentile(all, 0.95)),
    milliseconds(all[0]),
    milliseconds(all.at(-1)),
    sessionMedians,
    milliseconds(percentile(hlsLatenciesMs, 0.5)),
  ].join(' | ');
}

function sorted(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

function milliseconds(value: number | undefined): string {
  return value === undefined ? 'n/a' : `${Math.round(value)} ms`;
}

function seconds(valueMs: number | undefined): string {
  return valueMs === undefined ? 'n/a' : `${(valueMs / 1000).toFixed(2)} s`;
}

/** Nearest rank: a value that was measured, never one in between. */
function percentile(ascending: number[], share: number): number | undefined {
  return ascending[Math.max(0, Math.ceil(share * ascending.length) - 1)];
}

function printTable(config: Config, rows: string[]): void {
  console.log(
    `\nGlass-to-glass latency, ${DURATION_SEC} s per case in ${SESSIONS_PER_CASE} fresh player session(s), each` +
      ` after ${WARMUP_SEC} s of warm-up (stamp camera 640x360, 25 fps, 1 s GOP; both servers` +
      ` ${config.hls.segmentDurationSec} s segments, ${config.hls.listSize} in the playlist; Chromium, hls.js).` +
      ' The camera makes 25 frames a second; a player that shows them all reads 25 a second.\n',
  );
  console.log(
    '| server | hls.js settings | frames read | unreadable stamps | rejected (outside 0-30 s) | p50 | p95 | min | max | p50 per session | hls.js latency estimate, p50 |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(`| ${row} |`);
  const load = sorted(loadAverages);
  console.log(
    `\nLoad average (1 min) after each session: ${load[0]?.toFixed(2)} to ${load.at(-1)?.toFixed(2)},` +
      ` on ${availableParallelism()} cores.`,
  );
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopAll().finally(() => process.exit(130));
  });
}
try {
  await main();
} finally {
  await stopAll();
}
