/**
 * Relay throughput against nginx: the same HLS segment and playlist, served by Debian's nginx (2 workers,
 * sendfile) and by a camrelay relay (auth on, signed URLs), as it runs by default (one process) and with
 * RELAY_PROCESSES=2, each loaded by wrk with 100 connections for the same time. Prints req/s, p50 and p99
 * latency, MB/s and the CPU of the servers and of Redis, medians of RUNS runs, and the camrelay/nginx ratio.
 *
 *   npm run bench:relay                     RUNS=3 DURATION_SEC=10 by default
 *   BENCH_SMOKE=1 npm run bench:relay       one run of 3 s per case
 *   BENCH_CASES=segment (or playlist)       one case only
 *   RELAY_CPU_PROF=/some/dir                also writes each relay process's CPU profile there (node
 *                                           --cpu-prof) and prints where its time went
 *
 * Real parts only: ffmpeg makes the HLS; camrelay runs as `node dist/main.js relay` on a redis-server of its
 * own (unix socket), with the files on its disk for a registered camera that no worker ingests; nginx and wrk
 * from Debian. Traffic stays on 127.0.0.1. A run with any failed request fails the benchmark: wrk counts
 * statuses of 400 and above and socket errors; a redirect cannot happen here (the answer is checked before
 * each run), and short answers would show in the bytes read per response.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { processTable } from '../src/ingest/process-table.js';
import { createLogger } from '../src/log.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { cpuSeconds, median } from './proc-stats.js';
import { type CpuProfile, summariseCpuProfile } from './support/cpu-profile.js';
import { type HlsFixture, makeHlsFixture } from './support/hls-fixture.js';
import { startNginx } from './support/nginx.js';
import { type RelayProcess, startRelayProcess } from './support/relay-process.js';
import { runWrk, type WrkResult, wrkFailures } from './support/wrk.js';

const SMOKE = process.env.BENCH_SMOKE === '1';
const RUNS = Number(process.env.RUNS ?? (SMOKE ? 1 : 3));
const DURATION_SEC = Number(process.env.DURATION_SEC ?? (SMOKE ? 3 : 10));
/** Lets each server open its connections, fill its caches and warm its JIT before the measured run. */
const WARMUP_SEC = SMOKE ? 1 : 2;
const CONNECTIONS = 100;
const WRK_THREADS = 2;
const NGINX_WORKERS = 2;
const CAMERA_ID = 'bench-relay';
const SEGMENT_BITRATE_KBPS = 2000;
const PROFILE_DIR = process.env.RELAY_CPU_PROF;
const READ_BYTES_MARGIN = 0.99;

const ADMIN_TOKEN = `bench-${randomBytes(24).toString('hex')}`;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

type CaseName = 'segment' | 'playlist';
/** BENCH_CASES=segment (or playlist) runs one case alone, e.g. to profile it. */
const CASES = (process.env.BENCH_CASES ?? 'segment,playlist')
  .split(',')
  .filter((name): name is CaseName => name === 'segment' || name === 'playlist');
const NGINX = `nginx, ${NGINX_WORKERS} workers`;
/** camrelay as it runs by default, and as a cluster of as many relay processes as nginx has workers. */
const RELAYS: Array<{ name: string; env: Record<string, string> }> = [
  { name: 'camrelay relay, 1 process', env: {} },
  {
    name: `camrelay relay, RELAY_PROCESSES=${NGINX_WORKERS}`,
    env: { RELAY_PROCESSES: String(NGINX_WORKERS) },
  },
];

interface Sample {
  wrk: WrkResult;
  /** The server's processes together, % of one core, over the measured run. */
  serverCpuPercent: number;
  redisCpuPercent: number;
}

interface Target {
  url: string;
  pids(): number[];
  /** What is wrong with a response body, or null when it is what the server must send. */
  check(body: Buffer): string | null;
}

type Server = (caseName: CaseName) => Promise<Target>;

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'camrelay-bench-relay-'));
  const hlsRoot = path.join(dataDir, 'hls');
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const fixture = await makeHlsFixture(path.join(hlsRoot, CAMERA_ID), {
      durationSec: 8,
      bitrateKbps: SEGMENT_BITRATE_KBPS,
      runId: 'r1',
    });
    const redisDir = path.join(dataDir, 'redis-host');
    const redis = await startEmbeddedRedis(redisDir, createLogger('silent'));
    cleanups.push(() => redis.stop());
    const redisPids = () => processesUsing(redisDir, 'redis-server');
    const nginx = await startNginx({ root: hlsRoot, workers: NGINX_WORKERS });
    cleanups.push(() => nginx.stop());
    const servers = new Map<string, Server>([
      [NGINX, async (caseName) => nginxTarget(nginx.url, nginx.pids, fixture, caseName)],
    ]);
    // Relays of one deployment: one Redis, one secret key, the same files.
    const secretKey = randomBytes(32).toString('hex');
    const relays: RelayProcess[] = [];
    for (const [index, { name, env }] of RELAYS.entries()) {
      const relay = await startRelayProcess(
        {
          REDIS_URL: redis.url,
          DATA_DIR: path.join(dataDir, `relay-${index}`),
          HLS_ROOT: hlsRoot,
          // The same files nginx serves, on the relay's disk: the classic mode's path (in ll mode the relay
          // takes LL playlists from workers, from memory).
          HLS_MODE: 'classic',
          LOG_LEVEL: 'warn',
          CAMRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
          CAMRELAY_SECRET_KEY: secretKey,
          CAMERA_NETWORKS: '127.0.0.0/8',
          ...env,
        },
        { cpuProfileDir: PROFILE_DIR },
      );
      cleanups.push(() => relay.stop());
      relays.push(relay);
      servers.set(name, async (caseName) => relayTarget(relay, await signedQuery(relay), fixture, caseName));
    }
    await registerCamera(relays[0] as RelayProcess);

    const samples = new Map<string, Sample[]>();
    const names = [...servers.keys()];
    for (let run = 0; run < RUNS; run++) {
      for (const caseName of CASES) {
        // Rotate who goes first, so no server always meets the machine in the same state.
        const order = names.map((_, i) => names[(i + run) % names.length] as string);
        for (const name of order) {
          const target = await (servers.get(name) as Server)(caseName);
          const sample = await measure(target, redisPids, `${caseName} from ${name}, run ${run + 1}`);
          const key = `${caseName}/${name}`;
          samples.set(key, [...(samples.get(key) ?? []), sample]);
        }
      }
    }
    printTable(samples, fixture);
    if (PROFILE_DIR) {
      for (const relay of relays) await relay.stop(); // --cpu-prof writes the profiles as the processes exit
      await printProfiles(PROFILE_DIR);
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => console.error(err));
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** A camera like any other, so the relay signs its URLs; no worker runs, so its files stay as written. */
async function registerCamera(relay: RelayProcess): Promise<void> {
  const response = await fetch(`${relay.url}/api/v1/cameras`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ id: CAMERA_ID, name: 'relay bench', url: 'rtsp://127.0.0.1:9/bench' }),
  });
  if (response.status !== 201) throw new Error(`camera not registered: ${await response.text()}`);
}

/** The query of the signed playlist URL a viewer gets from the API; it signs the camera's segments too. */
async function signedQuery(relay: RelayProcess): Promise<string> {
  const response = await fetch(`${relay.url}/api/v1/cameras/${CAMERA_ID}/stream`, { headers: auth });
  if (!response.ok) throw new Error(`no stream URL: ${await response.text()}`);
  return new URL(((await response.json()) as { url: string }).url).search;
}

function relayTarget(relay: RelayProcess, query: string, fixture: HlsFixture, caseName: CaseName): Target {
  const file = caseName === 'segment' ? fixture.segment : fixture.playlist;
  return {
    url: `${relay.url}/hls/${CAMERA_ID}/${file}${query}`,
    pids: relay.pids,
    check: (body) =>
      caseName === 'segment'
        ? sameBytes(body, fixture.segmentBody)
        : signedPlaylist(body.toString('utf8'), fixture.playlistBody.toString('utf8')),
  };
}

function nginxTarget(url: string, pids: () => number[], fixture: HlsFixture, caseName: CaseName): Target {
  const file = caseName === 'segment' ? fixture.segment : fixture.playlist;
  const expected = caseName === 'segment' ? fixture.segmentBody : fixture.playlistBody;
  return { url: `${url}/${CAMERA_ID}/${file}`, pids, check: (body) => sameBytes(body, expected) };
}

function sameBytes(body: Buffer, expected: Buffer): string | null {
  return body.equals(expected)
    ? null
    : `body of ${body.length} bytes differs from the file's ${expected.length}`;
}

/** The relay's playlist is the file with the viewer's signature appended to every segment URI. */
function signedPlaylist(body: string, file: string): string | null {
  const unsigned = body.replace(/\?exp=[^\n]*sig=[^\n]*/g, '');
  if (unsigned !== file) return `playlist is not the file with signed URIs:\n${body}`;
  return null;
}

/**
 * One measured wrk run against a target: a request checked by hand first, a warm-up, then the run, with the
 * CPU of the server's processes and Redis sampled over exactly that run. Any error fails the benchmark.
 */
async function measure(target: Target, redisPids: () => number[], label: string): Promise<Sample> {
  const response = await fetch(target.url);
  const body = Buffer.from(await response.arrayBuffer());
  const wrong = response.status === 200 ? target.check(body) : `status ${response.status}`;
  if (wrong) throw new Error(`${label}: wrong answer before the run: ${wrong}`);
  const wrkOptions = { threads: WRK_THREADS, connections: CONNECTIONS };
  assertClean(
    await runWrk(target.url, { ...wrkOptions, durationSec: WARMUP_SEC }),
    body.length,
    `${label} (warm-up)`,
  );
  const serverCpu = cpuMeter(target.pids);
  const redisCpu = cpuMeter(redisPids);
  const wrk = await runWrk(target.url, { ...wrkOptions, durationSec: DURATION_SEC });
  const sample = { wrk, serverCpuPercent: serverCpu(), redisCpuPercent: redisCpu() };
  assertClean(wrk, body.length, label);
  return sample;
}

function assertClean(wrk: WrkResult, bodyBytes: number, label: string): void {
  const failures = wrkFailures(wrk);
  // Headers come on top of the body, so fewer bytes per response than the body means short answers. wrk
  // prints the bytes read with three significant digits ("3.52GB"), hence the margin.
  if (wrk.requests > 0 && wrk.readBytes / wrk.requests < bodyBytes * READ_BYTES_MARGIN)
    failures.push(
      `${Math.round(wrk.readBytes / wrk.requests)} bytes read per response, body is ${bodyBytes}`,
    );
  if (failures.length > 0) throw new Error(`${label}: ${failures.join('; ')}`);
}

/** CPU of a set of processes from now until the returned function is called, in % of one core. */
function cpuMeter(pids: () => number[]): () => number {
  const watched = pids();
  const before = new Map(watched.map((pid) => [pid, cpuSeconds(pid)]));
  const t0 = performance.now();
  return () => {
    const elapsedSec = (performance.now() - t0) / 1000;
    let usedSec = 0;
    for (const [pid, start] of before) usedSec += cpuSeconds(pid) - start;
    return (usedSec / elapsedSec) * 100;
  };
}

/** redis-server rewrites its argv into one title ("redis-server unixsocket:/…/redis.sock"), so match the whole line. */
function processesUsing(dir: string, program: string): number[] {
  return processTable()
    .filter((p) => {
      const line = p.argv.join(' ');
      return line.includes(program) && line.includes(dir);
    })
    .map((p) => p.pid);
}

function printTable(samples: Map<string, Sample[]>, fixture: HlsFixture): void {
  const mode = SMOKE ? 'SMOKE run, figures not comparable' : `median of ${RUNS} runs`;
  console.log(
    `\nRelay throughput, camrelay against nginx: ${mode}, ${DURATION_SEC} s each (after ${WARMUP_SEC} s of warm-up), ` +
      `wrk -t${WRK_THREADS} -c${CONNECTIONS}; servers, wrk and Redis share this machine's cores\n`,
  );
  console.log(
    `Files: segment ${fixture.segment}, ${fixture.segmentBody.length} bytes (1 s, H.264 640x360, ` +
      `${SEGMENT_BITRATE_KBPS} kbit/s target); playlist ${fixture.playlist}, ${fixture.playlistBody.length} bytes ` +
      '(camrelay adds the signature to each of its URIs)\n',
  );
  console.log(
    '| case | server | req/s | p50 | p99 | MB/s | server CPU | Redis CPU | camrelay/nginx (req/s) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const caseName of CASES) {
    const nginx = samples.get(`${caseName}/${NGINX}`) ?? [];
    console.log(row(caseName, NGINX, nginx, ''));
    for (const { name } of RELAYS) {
      const relay = samples.get(`${caseName}/${name}`) ?? [];
      const ratio = med(relay, (s) => s.wrk.requestsPerSec) / med(nginx, (s) => s.wrk.requestsPerSec);
      const perRun = relay.map((s, i) =>
        (s.wrk.requestsPerSec / (nginx[i]?.wrk.requestsPerSec ?? NaN)).toFixed(2),
      );
      console.log(row(caseName, name, relay, `${ratio.toFixed(2)}x (runs: ${perRun.join(', ')})`));
    }
  }
  console.log(
    "\nCPU is % of one core (the machine has 2), all of the server's processes together; MB/s is wrk's MiB/s.",
  );
}

function row(caseName: string, server: string, samples: Sample[], ratio: string): string {
  const ms = (value: number) => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
  const cells = [
    caseName,
    server,
    Math.round(med(samples, (s) => s.wrk.requestsPerSec)).toLocaleString('en-US'),
    ms(med(samples, (s) => s.wrk.p50Ms)),
    ms(med(samples, (s) => s.wrk.p99Ms)),
    med(samples, (s) => s.wrk.transferMiBps).toFixed(1),
    `${med(samples, (s) => s.serverCpuPercent).toFixed(0)} %`,
    `${med(samples, (s) => s.redisCpuPercent).toFixed(1)} %`,
    ratio,
  ];
  return `| ${cells.join(' | ')} |`;
}

function med(samples: Sample[], pick: (sample: Sample) => number): number {
  return median(samples.map(pick));
}

async function printProfiles(dir: string): Promise<void> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile')).sort();
  for (const name of files) {
    const summary = summariseCpuProfile(
      JSON.parse(await readFile(path.join(dir, name), 'utf8')) as CpuProfile,
    );
    console.log(
      `\nCPU profile ${path.join(dir, name)}: ${(summary.busyMs / 1000).toFixed(1)} s busy, ` +
        `${(summary.idleMs / 1000).toFixed(1)} s idle. Self time, share of busy:\n`,
    );
    for (const { name: frame, share } of summary.functions) console.log(`  ${pct(share)}  ${frame}`);
    console.log('\n  by origin:');
    for (const { name: origin, share } of summary.origins) console.log(`  ${pct(share)}  ${origin}`);
  }
}

function pct(share: number): string {
  return `${(share * 100).toFixed(1).padStart(5)} %`;
}

await main();
