/**
 * Glass-to-glass latency in a real browser: a camera stamps each frame with the time it is made, a page in
 * Chromium reads the stamp off every frame it shows, and the difference is the latency, end to end (the
 * camera and the browser share this machine's clock). The cases (issue 9), taken in turns:
 *
 *   classic    camrelay `all`, HLS_MODE=classic (ffmpeg's HLS muxer, MPEG-TS on disk), the wall's hls.js settings
 *   nginx      the baseline: bare ffmpeg with camrelay's classic arguments behind nginx, hls.js's defaults
 *   ll-all     camrelay `all`, HLS_MODE=ll (the in-process LL-HLS packager, served from memory), the wall's settings
 *   ll-relay   LL-HLS through a `relay` process proxying a `worker` process (separate OS processes, one Redis)
 *   wall-h2    a wall of WALL_TILES tiles (9), LL-HLS from a relay over TLS with HTTP2=on; every tile is read
 *   wall-h1    the same wall from a relay with HTTP2=off (HTTPS/1.1: six connections per host)
 * and, only when asked for by LATENCY_CASES, the crossings that tell the player's part from the server's:
 *   classic-defaults, nginx-wall, ll-all-defaults
 * "The wall's settings" are what a wall tile plays with: HLS_CONFIG (web/wall/hls-config.ts), and its jump
 * back to the live edge when hls.js has been far behind for a while (web/wall/live-edge.ts).
 *
 * After the players, a probe without a player follows each LL-HLS server part by part (blocking reloads) and
 * reads the stamps of the parts' frames: the server's share of the latency (bench/latency/part-probe.ts).
 *
 *   npm run bench:latency                 DURATION_SEC=60 per case (sessions of 10 s), all six cases
 *   BENCH_SMOKE=1 npx tsx bench/latency.ts   every case for a few seconds (under two minutes in all)
 *   LATENCY_CASES=ll-all,ll-all-defaults  only these cases; LATENCY_CASES=all adds the crossings
 *   WALL_TILES=9  PROBE_SEC=20
 *   LATENCY_CANDIDATE_CONFIG='{"lowLatencyMode":true}'   each case played with the wall's settings is also
 *                played with these hls.js settings, in the same turns: a change to web/wall/hls-config.ts, tried
 *
 * Real parts only, all on 127.0.0.1: the GStreamer stamp camera, camrelay's built CLI (`npm run build`
 * first) as separate processes with their own Redis, ffmpeg, nginx, Chromium. Exits non-zero when a case
 * read no stamp at all.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.js';
import { type RtspCameras, startRtspCameras } from '../src/demo/rtsp-cameras.js';
import { resolveFfmpegPath } from '../src/ingest/ffmpeg.js';
import { parseMediaPlaylist } from '../src/ingest/playlist.js';
import { createLogger } from '../src/log.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { launchChromium } from '../test/support/browser.js';
import { selfSigned } from '../test/support/certs.js';
import { HLS_CONFIG } from '../web/wall/hls-config.js';
import { measurePlayback, type PlaybackLatency } from './latency/measure-playback.js';
import { writeLatencyPage } from './latency/page-files.js';
import { type PartTimings, probeParts } from './latency/part-probe.js';
import { bareRemuxArgv } from './support/bare-ffmpeg.js';
import { type CamrelayProcess, startCamrelayProcess } from './support/camrelay-process.js';
import { startNginx } from './support/nginx.js';
import { stopChild } from './support/processes.js';

const SMOKE = process.env.BENCH_SMOKE === '1';
const DURATION_SEC = SMOKE ? 4 : Number(process.env.DURATION_SEC ?? 60);
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
const WALL_TILES = Number(process.env.WALL_TILES ?? 9);
/** How long the part probe follows each LL-HLS server. */
const PROBE_SEC = SMOKE ? 3 : Number(process.env.PROBE_SEC ?? 20);
/**
 * Readings outside this window are misread stamps, not latencies: nothing is shown before it is made on
 * one clock, and a live HLS player seconds behind is plausible, half a minute is not.
 */
const SANE_LATENCY_MS = { min: 0, max: 30_000 };
const CAMERA = 'latency';
const MOUNT = 'stamp';
const ADMIN_TOKEN = `bench-${randomBytes(24).toString('hex')}`;
const LEASH = fileURLToPath(new URL('../bin/ffmpeg-leash', import.meta.url));

/** Where a stream comes from. */
type Server = 'classic' | 'nginx' | 'll-all' | 'll-relay' | 'tls-h2' | 'tls-h1';
type Player = 'wall' | 'defaults' | 'candidate';

interface Case {
  id: string;
  server: Server;
  player: Player;
  /** Players on the page at once, each on a camera of its own. */
  tiles: number;
  /** The item, for the table. */
  item: string;
  description: string;
}

/** The configuration under test and its baseline first, then LL-HLS in one process, split, and a wall. */
const CASES: Case[] = [
  {
    id: 'classic',
    server: 'classic',
    player: 'wall',
    tiles: 1,
    item: '(a)',
    description: 'camrelay `all`, HLS_MODE=classic: ffmpeg HLS muxer, MPEG-TS segments on disk',
  },
  {
    id: 'nginx',
    server: 'nginx',
    player: 'defaults',
    tiles: 1,
    item: '(a) baseline',
    description: "bare ffmpeg with camrelay's classic arguments, served by nginx",
  },
  {
    id: 'll-all',
    server: 'll-all',
    player: 'wall',
    tiles: 1,
    item: '(b)',
    description: 'camrelay `all`, HLS_MODE=ll: fMP4 pipe, LL-HLS packager, served from memory, one process',
  },
  {
    id: 'll-relay',
    server: 'll-relay',
    player: 'wall',
    tiles: 1,
    item: '(c)',
    description:
      'LL-HLS from a `worker` process, through a `relay` process (plain HTTP, blocking requests forwarded)',
  },
  {
    id: 'wall-h2',
    server: 'tls-h2',
    player: 'wall',
    tiles: WALL_TILES,
    item: '(d)',
    description: `a wall of ${WALL_TILES} cameras, LL-HLS from a relay over TLS, HTTP2=on (every tile read)`,
  },
  {
    id: 'wall-h1',
    server: 'tls-h1',
    player: 'wall',
    tiles: WALL_TILES,
    item: '(d)',
    description: `the same wall, relay over TLS with HTTP2=off (HTTPS/1.1)`,
  },
  {
    id: 'classic-defaults',
    server: 'classic',
    player: 'defaults',
    tiles: 1,
    item: 'crossed',
    description: "camrelay `all`, HLS_MODE=classic, with hls.js's defaults",
  },
  {
    id: 'nginx-wall',
    server: 'nginx',
    player: 'wall',
    tiles: 1,
    item: 'crossed',
    description: "the nginx baseline with the wall's settings",
  },
  {
    id: 'll-all-defaults',
    server: 'll-all',
    player: 'defaults',
    tiles: 1,
    item: 'crossed',
    description: "camrelay `all`, HLS_MODE=ll, with hls.js's defaults (lowLatencyMode is on by default)",
  },
];
const DEFAULT_CASES = ['classic', 'nginx', 'll-all', 'll-relay', 'wall-h2', 'wall-h1'];
const SERVER_LABEL: Record<Server, string> = {
  classic: 'camrelay all, classic',
  nginx: 'bare ffmpeg + nginx',
  'll-all': 'camrelay all, ll',
  'll-relay': 'relay → worker, ll',
  'tls-h2': 'relay (TLS, HTTP2=on) → worker, ll',
  'tls-h1': 'relay (TLS, HTTP2=off) → worker, ll',
};
/**
 * LATENCY_CANDIDATE_CONFIG (JSON): hls.js settings to weigh against the wall's, in the same turns, before
 * web/wall/hls-config.ts is changed.
 */
const CANDIDATE = process.env.LATENCY_CANDIDATE_CONFIG;
const PLAYER_LABEL: Record<Player, string> = {
  wall: "the wall's (HLS_CONFIG, LiveEdgeWatch)",
  defaults: "hls.js's defaults",
  candidate: `candidate ${CANDIDATE}`,
};
const HLS_SETTINGS: Record<Player, object> = {
  wall: HLS_CONFIG,
  defaults: {},
  candidate: CANDIDATE ? (JSON.parse(CANDIDATE) as object) : {},
};

/** The machine's 1-minute load average after each session: the CPU is shared, and the figures show it. */
const loadAverages: number[] = [];

/** Things to stop, last started first, on the way out or on Ctrl-C. */
const stops: Array<() => Promise<unknown>> = [];

async function stopAll(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) {
    await stop().catch((err: unknown) => console.error('while stopping:', err));
  }
}

function selectedCases(): Case[] {
  const wanted = process.env.LATENCY_CASES;
  const ids = wanted ? wanted.split(',').map((id) => id.trim()) : DEFAULT_CASES;
  const unknown = ids.filter((id) => id !== 'all' && !CASES.some((run) => run.id === id));
  if (unknown.length > 0)
    throw new Error(
      `LATENCY_CASES: unknown ${unknown.join(', ')}; known: ${CASES.map((c) => c.id).join(', ')}`,
    );
  const cases = wanted === 'all' ? CASES : CASES.filter((run) => ids.includes(run.id));
  if (!CANDIDATE) return cases;
  return cases.flatMap((run) =>
    run.player === 'wall'
      ? [
          run,
          { ...run, id: `${run.id}+candidate`, player: 'candidate' as const, item: `${run.item}, candidate` },
        ]
      : [run],
  );
}

/** A stream to play: a fresh signed URL per session (they expire), one per tile. */
type StreamUrls = (tiles: number) => Promise<string[]>;
type Streams = Map<Server, StreamUrls>;

async function main() {
  if (!(DURATION_SEC > 0)) throw new Error('DURATION_SEC must be a positive number of seconds');
  if (!(WALL_TILES >= 1)) throw new Error('WALL_TILES must be at least 1');
  const cases = selectedCases();
  const dir = await mkdtemp(path.join(tmpdir(), 'camrelay-latency-'));
  stops.push(() => rm(dir, { recursive: true, force: true }));
  await writeLatencyPage(dir);
  const { streams, pageUrl } = await startStreams(dir, new Set(cases.map((run) => run.server)));
  const browser = await launchChromium();
  stops.push(() => browser.close());
  const sessions = new Map<Case, PlaybackLatency[]>(cases.map((run) => [run, []]));
  for (let turn = 0; turn < SESSIONS_PER_CASE; turn++) {
    for (const run of cases) {
      const urls = await playlistsOf(streams, run.server)(run.tiles);
      const session = await measurePlayback(browser, {
        pageUrl,
        playlistUrls: urls,
        hlsConfig: HLS_SETTINGS[run.player],
        keepNearLiveEdge: run.player !== 'defaults',
        warmupSec: WARMUP_SEC,
        durationSec: DURATION_SEC / SESSIONS_PER_CASE,
      });
      sessions.get(run)?.push(session);
      loadAverages.push(loadavg()[0] ?? Number.NaN);
      console.error(`latency: ${run.id}, session ${turn + 1} of ${SESSIONS_PER_CASE} done`);
    }
  }
  await browser.close();
  const probes: Array<{ server: Server; timings: PartTimings }> = [];
  for (const server of ['ll-all', 'll-relay'] as const) {
    if (!streams.has(server)) continue;
    const [url = ''] = await playlistsOf(streams, server)(1);
    probes.push({ server, timings: await probeParts(url, PROBE_SEC) });
  }
  printTables(
    cases.map((run) => ({ run, sessions: sessions.get(run) ?? [] })),
    probes,
  );
  const empty = cases.filter((run) => saneOf(sessions.get(run) ?? []).length === 0);
  if (empty.length > 0) {
    console.error(`\nFAILED: no readable stamp in case(s) ${empty.map((run) => run.id).join(', ')}`);
    process.exitCode = 1;
  }
  const unprobed = probes.filter((probe) => probe.timings.parts === 0);
  if (unprobed.length > 0) {
    console.error(`\nFAILED: the part probe timed no part of ${unprobed.map((p) => p.server).join(', ')}`);
    process.exitCode = 1;
  }
}

/** Only what the selected cases play is started. */
async function startStreams(
  dir: string,
  servers: Set<Server>,
): Promise<{ streams: Streams; pageUrl: string }> {
  const cameras = await startRtspCameras({ mounts: [{ name: MOUNT, kind: 'stamp' }] });
  stops.push(() => cameras.stop());
  // nginx serves the page (from `dir`) and the baseline's HLS; camrelay lets the page's origin in, as it
  // would a wall's (CORS_ORIGINS).
  const nginx = await startNginx({ root: dir });
  stops.push(() => nginx.stop());
  const streams: Streams = new Map();
  const ready: Array<Promise<void>> = [];
  /** A server's playlists, played once they (or the same through `check`) list a few segments. */
  const offer = (server: Server, urls: StreamUrls, check: StreamUrls = urls) => {
    streams.set(server, urls);
    ready.push(untilSegments(check, 3));
  };
  const common = {
    LOG_LEVEL: 'warn',
    CAMRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
    CORS_ORIGINS: nginx.url,
    RTMP_SERVER: 'off', // no push cameras here, and 1935 may be another process's
    RATE_LIMIT_PER_MIN: '1000000',
  };
  for (const [server, mode] of [
    ['classic', 'classic'],
    ['ll-all', 'll'],
  ] as const) {
    if (!servers.has(server)) continue;
    const camrelay = await started(
      startCamrelayProcess('all', { ...common, DATA_DIR: path.join(dir, server), HLS_MODE: mode }),
    );
    await registerCameras(camrelay.url, [CAMERA], cameras.url(MOUNT));
    offer(server, async () => [await streamUrl(camrelay.url, CAMERA)]);
  }
  if (servers.has('nginx')) {
    const bare = await startBareIngest(cameras.url(MOUNT), path.join(dir, 'bare'));
    stops.push(() => stopChild(bare));
    offer('nginx', async () => [`${nginx.url}/bare/index.m3u8`]);
  }
  if (servers.has('ll-relay') || servers.has('tls-h2') || servers.has('tls-h1')) {
    ready.push(startDistributed(dir, servers, cameras, common, offer));
  }
  // Offers made while waiting (the distributed servers') add to the list: wait until it stays empty.
  while (ready.length > 0) await Promise.all(ready.splice(0));
  return { streams, pageUrl: `${nginx.url}/page.html` };
}

function playlistsOf(streams: Streams, server: Server): StreamUrls {
  const urls = streams.get(server);
  if (!urls) throw new Error(`${server} was not started`);
  return urls;
}

/**
 * A worker and relays in processes of their own, sharing a Redis the benchmark starts (as on several hosts):
 * the plain relay takes the API calls; the TLS relays (HTTP/2 on, off) serve the walls.
 */
async function startDistributed(
  dir: string,
  servers: Set<Server>,
  cameras: RtspCameras,
  common: Record<string, string>,
  offer: (server: Server, urls: StreamUrls, check?: StreamUrls) => void,
): Promise<void> {
  const redis = await startEmbeddedRedis(path.join(dir, 'redis'), createLogger('warn'));
  stops.push(() => redis.stop());
  const shared = {
    ...common,
    REDIS_URL: redis.url,
    REDIS_PREFIX: 'bench-latency',
    CAMRELAY_SECRET_KEY: randomBytes(32).toString('hex'),
    CAMERA_NETWORKS: '127.0.0.0/8',
  };
  await started(
    startCamrelayProcess('worker', {
      ...shared,
      DATA_DIR: path.join(dir, 'worker'),
      WORKER_ID: 'bench-worker',
    }),
  );
  const relay = await started(
    startCamrelayProcess('relay', { ...shared, DATA_DIR: path.join(dir, 'relay') }),
  );
  const wallIds = Array.from({ length: WALL_TILES }, (_, i) => `wall-${i}`);
  const walls = servers.has('tls-h2') || servers.has('tls-h1');
  // The wall's cameras are one camera registered under several ids: each has its own ffmpeg and packager
  // on the worker, and its own URLs, as different cameras would, but the camera's encoder is paid once.
  await registerCameras(relay.url, [CAMERA, ...(walls ? wallIds : [])], cameras.url(MOUNT));
  if (servers.has('ll-relay')) offer('ll-relay', async () => [await streamUrl(relay.url, CAMERA)]);
  if (!walls) return;
  const cert = await selfSigned(await mkdtemp(path.join(dir, 'tls-')));
  for (const [server, http2] of [
    ['tls-h2', 'on'],
    ['tls-h1', 'off'],
  ] as const) {
    if (!servers.has(server)) continue;
    const tls = await started(
      startCamrelayProcess('relay', {
        ...shared,
        DATA_DIR: path.join(dir, server),
        TLS_CERT_FILE: cert.cert,
        TLS_KEY_FILE: cert.key,
        HTTP2: http2,
      }),
    );
    // A URL signed by one relay is good at every relay that shares the keys (Redis): the same path and
    // signature, on the TLS relay's origin. Readiness is checked through the plain relay (Node's fetch
    // would refuse the self-signed certificate); it is the same worker behind both.
    const plainUrls = (tiles: number) =>
      Promise.all(wallIds.slice(0, tiles).map((id) => streamUrl(relay.url, id)));
    offer(
      server,
      async (tiles) =>
        (await plainUrls(tiles)).map((plain) => {
          const url = new URL(plain);
          return `${tls.url}${url.pathname}${url.search}`;
        }),
      plainUrls,
    );
  }
}

async function started(starting: Promise<CamrelayProcess>): Promise<CamrelayProcess> {
  const camrelay = await starting;
  stops.push(() => camrelay.stop());
  return camrelay;
}

async function api(base: string, pathname: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}${pathname}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
  });
}

async function registerCameras(base: string, ids: string[], cameraUrl: string): Promise<void> {
  for (const id of ids) {
    const created = await api(base, '/api/v1/cameras', {
      method: 'POST',
      body: JSON.stringify({ id, name: `Latency ${id}`, url: cameraUrl }),
    });
    if (created.status !== 201)
      throw new Error(`camera ${id} not created: ${created.status} ${await created.text()}`);
  }
}

/** The camera's signed playlist URL, as a wall gets it. */
async function streamUrl(base: string, id: string): Promise<string> {
  const response = await api(base, `/api/v1/cameras/${id}/stream`);
  if (!response.ok) throw new Error(`no stream URL for ${id}: ${response.status}`);
  return ((await response.json()) as { url: string }).url;
}

/** The baseline: ffmpeg with camrelay's own classic arguments for this camera (a remux), under the same leash. */
async function startBareIngest(cameraUrl: string, outputDir: string): Promise<ChildProcess> {
  await mkdir(outputDir, { recursive: true });
  const config = loadConfig({});
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

/** Until every tile's playlist (of a full wall) lists `segments` complete segments. */
async function untilSegments(urls: StreamUrls, segments: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  const waiting = new Set(await urls(WALL_TILES));
  while (Date.now() < deadline) {
    for (const url of waiting) {
      const response = await fetch(url).catch(() => null);
      const playlist = response?.ok ? parseMediaPlaylist(await response.text()) : null;
      if (playlist && playlist.segments.length >= segments) waiting.delete(url);
    }
    if (waiting.size === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no ${segments} segments in ${[...waiting].join(', ')} within 30 s`);
}

function saneOf(sessions: PlaybackLatency[]): number[] {
  return sessions.flatMap((session) =>
    session.latenciesMs.filter((ms) => ms >= SANE_LATENCY_MS.min && ms <= SANE_LATENCY_MS.max),
  );
}

function tableRow(run: Case, sessions: PlaybackLatency[]): string {
  const all = sorted(saneOf(sessions));
  const read = sessions.reduce((sum, session) => sum + session.latenciesMs.length, 0);
  const median = (values: number[]) => percentile(sorted(values), 0.5);
  const sessionMedians = sessions.map((session) => seconds(median(saneOf([session])))).join(', ');
  const tileSec = sessions.reduce((sum, session) => sum + session.tileSec, 0);
  const perTileMinute = (count: number) => (tileSec > 0 ? ((count * 60) / tileSec).toFixed(2) : 'n/a');
  const protocols: Record<string, number> = {};
  for (const session of sessions)
    for (const [name, count] of Object.entries(session.protocols))
      protocols[name] = (protocols[name] ?? 0) + count;
  return [
    `${run.id} ${run.item}`,
    SERVER_LABEL[run.server],
    PLAYER_LABEL[run.player],
    run.tiles,
    `${all.length} (${tileSec > 0 ? (read / tileSec).toFixed(1) : 'n/a'}/s)`,
    sessions.reduce((sum, session) => sum + session.undecoded, 0),
    read - all.length,
    milliseconds(percentile(all, 0.5)),
    milliseconds(percentile(all, 0.95)),
    milliseconds(all[0]),
    milliseconds(all.at(-1)),
    sessionMedians,
    milliseconds(toMs(median(sessions.flatMap((session) => session.hlsLatencySec)))),
    milliseconds(toMs(median(sessions.flatMap((session) => session.targetLatencySec)))),
    milliseconds(toMs(median(sessions.flatMap((session) => session.bufferAheadSec)))),
    perTileMinute(sessions.reduce((sum, session) => sum + session.waiting, 0)),
    perTileMinute(sessions.reduce((sum, session) => sum + session.stalls, 0)),
    perTileMinute(sessions.reduce((sum, session) => sum + session.jumps, 0)),
    Object.entries(protocols)
      .map(([name, count]) => `${name} ${count}`)
      .join(', '),
  ].join(' | ');
}

function probeRow(server: Server, timings: PartTimings): string {
  const p = (values: number[], share: number) => milliseconds(percentile(sorted(values), share));
  return [
    SERVER_LABEL[server],
    timings.parts,
    `${p(timings.newestFrameAgeMs, 0.5)} / ${p(timings.newestFrameAgeMs, 0.95)}`,
    `${p(timings.oldestFrameAgeMs, 0.5)} / ${p(timings.oldestFrameAgeMs, 0.95)}`,
    `${p(timings.partFetchMs, 0.5)} / ${p(timings.partFetchMs, 0.95)}`,
    timings.failedReloads,
  ].join(' | ');
}

function toMs(sec: number | undefined): number | undefined {
  return sec === undefined ? undefined : sec * 1000;
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

function printTables(
  rows: Array<{ run: Case; sessions: PlaybackLatency[] }>,
  probes: Array<{ server: Server; timings: PartTimings }>,
): void {
  const config = loadConfig({});
  console.log(
    `\nGlass-to-glass latency, ${DURATION_SEC} s per case in ${SESSIONS_PER_CASE} fresh player session(s), each` +
      ` after ${WARMUP_SEC} s of warm-up (stamp camera 640x360, 25 fps, 1 s GOP; ${config.hls.segmentDurationSec} s` +
      ` segments, ${config.hls.listSize} in the playlist; LL-HLS parts of ${config.hls.partDurationMs} ms;` +
      ' Chromium, hls.js). The camera makes 25 frames a second; a player that shows them all reads 25 a second per tile.\n',
  );
  console.log('Cases:\n');
  for (const { run } of rows) console.log(`- \`${run.id}\` ${run.item}: ${run.description}.`);
  console.log(
    '\n| case | server | hls.js settings | tiles | frames read (per tile-second) | unreadable stamps | rejected (outside 0-30 s) | p50 | p95 | min | max | p50 per session | hls.js latency, p50 | hls.js target latency, p50 | buffered ahead, p50 | waiting events per tile-minute | hls.js stalls per tile-minute | jumps to the live edge per tile-minute | HLS responses over |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const { run, sessions } of rows) console.log(`| ${tableRow(run, sessions)} |`);
  if (probes.length > 0) {
    console.log(
      `\nServer side, no player: a client holding blocking reloads for the next part, ${PROBE_SEC} s per server.` +
        " A frame's age is the time the playlist naming its part was answered minus the frame's stamp.\n",
    );
    console.log(
      '| server | parts timed | newest frame of the part, age p50 / p95 | oldest frame of the part, age p50 / p95 | part fetch after the playlist, p50 / p95 | failed reloads |',
    );
    console.log('|---|---|---|---|---|---|');
    for (const { server, timings } of probes) console.log(`| ${probeRow(server, timings)} |`);
  }
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
