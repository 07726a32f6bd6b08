/**
 * The baseline camrelay rejected: one never-ending BullMQ job per camera, all in one queue, each job held by
 * its worker's lock for as long as the camera runs. CAMERAS jobs (62,000 by default) run on WORKERS worker
 * processes (4 by default) whose processors never end, like an ffmpeg ingest, against a private Redis; the
 * figures show at city scale what camrelay's leases avoid.
 *
 *   npx tsx bench/bullmq-baseline.ts            CAMERAS=62000 WORKERS=4 by default
 *   npx tsx bench/bullmq-baseline.ts worker     one worker process (the benchmark starts these itself)
 *
 * Measures: time until every job runs; Redis CPU and the busiest commands in steady state; failover when the
 * busiest worker is SIGKILLed (until every job runs again on the others), Redis's slowest event and PING
 * meanwhile, and the locks the survivors lose on the way. Workers report every 500 ms, so times are
 * accurate to about half a second.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { createLogger } from '../src/log.js';
import { redisOptionsFromUrl } from '../src/redis/connection.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { busiestCommands, commandStats, percentile, progress, redisCpuSeconds } from './redis-stats.js';

const QUEUE = 'cameras';
const CAMERAS = Number(process.env.CAMERAS ?? 62_000);
const WORKERS = Number(process.env.WORKERS ?? 4);
/** camrelay's tuned settings for its own (short) start commands; BullMQ's defaults are 30 s and 30 s. */
const LOCK_DURATION_MS = 10_000;
const STALLED_INTERVAL_MS = 5_000;
/** A job that stalls is a camera whose worker died: run it again, never fail it. */
const MAX_STALLED_COUNT = 1_000_000;
const REPORT_INTERVAL_MS = 500;
const ADD_CHUNK = 1000;
const START_CAP_MS = 600_000;
const SETTLE_MS = 5_000;
const STEADY_MS = 20_000;
const FAILOVER_CAP_MS = 180_000;
const PING_INTERVAL_MS = 20;
/** Jobs in flight when a worker stops must not keep it: Redis may already be gone. */
const STOP_DEADLINE_MS = 30_000;

/** What a worker process prints on stdout, one JSON line every REPORT_INTERVAL_MS. */
interface WorkerReport {
  /** Processors running now: cameras this worker ingests. */
  running: number;
  /** Distinct jobs whose lock renewal failed at least once ('lockRenewalFailed'). */
  lockLostJobs: number;
  /** Jobs this worker's stalled checker moved back to wait ('stalled'), its own or anyone's. */
  stalledJobs: number;
  /** 'error' events other than the one BullMQ emits with each failed lock renewal. */
  errors: number;
}

interface BenchWorker {
  name: string;
  child: ChildProcess;
  report: WorkerReport;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const running = (workers: BenchWorker[]) => sum(workers.map((w) => w.report.running));

// ---- worker process ----

/** A BullMQ worker whose processors run until `released`, like ingests; it keeps `report` up to date. */
function ingestWorker(report: WorkerReport, released: Promise<void>): Worker {
  const worker = new Worker(
    QUEUE,
    async () => {
      report.running++;
      try {
        await released;
      } finally {
        report.running--;
      }
    },
    {
      connection: redisOptionsFromUrl(process.env.REDIS_URL ?? ''),
      concurrency: Number(process.env.CONCURRENCY),
      lockDuration: LOCK_DURATION_MS,
      stalledInterval: STALLED_INTERVAL_MS,
      maxStalledCount: MAX_STALLED_COUNT,
    },
  );
  // A job whose renewal failed stays tracked and fails again at every renewal: count each job once.
  const lockLost = new Set<string>();
  worker.on('lockRenewalFailed', (jobIds) => {
    for (const id of jobIds) lockLost.add(id);
    report.lockLostJobs = lockLost.size;
  });
  worker.on('stalled', () => report.stalledJobs++);
  worker.on('error', (err) => {
    if (err.message.startsWith('could not renew lock')) return; // counted as lockRenewalFailed
    if (++report.errors <= 5) console.error(`worker ${process.pid}: ${err.message}`);
  });
  return worker;
}

async function runWorker(): Promise<void> {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const report: WorkerReport = { running: 0, lockLostJobs: 0, stalledJobs: 0, errors: 0 };
  const worker = ingestWorker(report, released);
  await worker.waitUntilReady();
  const print = () => console.log(JSON.stringify(report));
  print();
  const timer = setInterval(print, REPORT_INTERVAL_MS);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    setTimeout(() => process.exit(1), STOP_DEADLINE_MS).unref();
    release();
    void worker.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  // The benchmark holds our stdin: when it dies, however it dies, so does this worker, at once, since its
  // Redis died with it and a clean close would only wait out STOP_DEADLINE_MS.
  process.stdin.on('end', () => process.exit(1)).resume();
}

// ---- benchmark ----

function startWorker(name: string, redisUrl: string, concurrency: number): BenchWorker {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'worker'], {
    env: { PATH: process.env.PATH ?? '', REDIS_URL: redisUrl, CONCURRENCY: String(concurrency) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const worker: BenchWorker = {
    name,
    child,
    report: { running: 0, lockLostJobs: 0, stalledJobs: 0, errors: 0 },
  };
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      worker.report = JSON.parse(line) as WorkerReport;
    } catch {
      console.error(`${name}: ${line}`);
    }
  });
  return worker;
}

/** Resolves once every worker has reported, i.e. its BullMQ worker is connected and fetching. */
async function waitForReports(workers: BenchWorker[]): Promise<void> {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.child.stdout?.once('data', () => resolve());
          w.child.once('exit', (code) => reject(new Error(`${w.name} exited (${code}) before reporting`)));
        }),
    ),
  );
}

async function stopWorkers(workers: BenchWorker[]): Promise<void> {
  const exited = workers.map(
    (w) =>
      new Promise((resolve) =>
        w.child.exitCode !== null || w.child.signalCode !== null
          ? resolve(null)
          : w.child.once('exit', resolve),
      ),
  );
  for (const w of workers) w.child.kill('SIGTERM');
  await Promise.all(exited);
}

/**
 * Polls the workers' reports until `done` says so, printing `describe` every 2 s; returns the time it took,
 * or null past capMs.
 */
async function waitUntil(done: () => boolean, capMs: number, describe: () => string): Promise<number | null> {
  const startedAt = Date.now();
  let progressAt = startedAt;
  while (!done()) {
    const now = Date.now();
    if (now - startedAt > capMs) return null;
    if (now - progressAt >= 2000) {
      progress(describe());
      progressAt = now;
    }
    await sleep(100);
  }
  return Date.now() - startedAt;
}

async function addJobs(queue: Queue): Promise<number> {
  const startedAt = Date.now();
  for (let first = 0; first < CAMERAS; first += ADD_CHUNK) {
    const ids = Array.from({ length: Math.min(ADD_CHUNK, CAMERAS - first) }, (_, j) => first + j);
    await queue.addBulk(
      ids.map((i) => ({ name: 'ingest', data: { camera: i }, opts: { jobId: `camera-${i}` } })),
    );
  }
  return Date.now() - startedAt;
}

async function measureStart(queue: Queue, workers: BenchWorker[]): Promise<string[]> {
  progress(`adding ${CAMERAS} jobs`);
  const addMs = await addJobs(queue);
  const allMs = await waitUntil(
    () => running(workers) >= CAMERAS,
    START_CAP_MS - addMs,
    () => `${running(workers)} of ${CAMERAS} jobs running`,
  );
  const all =
    allMs === null
      ? `not within ${seconds(START_CAP_MS)} (${running(workers)} running)`
      : seconds(addMs + allMs);
  return [
    `| add ${CAMERAS} jobs (addBulk, ${ADD_CHUNK} a call) | ${seconds(addMs)} |`,
    `| all ${CAMERAS} jobs running on ${WORKERS} workers, from the first add | ${all} |`,
    `| jobs per worker | ${workers.map((w) => w.report.running).join(', ')} |`,
  ];
}

async function measureSteadyState(redis: Redis, workers: BenchWorker[]): Promise<string[]> {
  progress('steady state');
  await sleep(SETTLE_MS);
  const cpuBefore = await redisCpuSeconds(redis);
  const statsBefore = await commandStats(redis);
  await sleep(STEADY_MS);
  const cpuPercent = (((await redisCpuSeconds(redis)) - cpuBefore) / (STEADY_MS / 1000)) * 100;
  const busiest = busiestCommands(statsBefore, await commandStats(redis), STEADY_MS);
  const reports = workers.map((w) => w.report);
  return [
    `| Redis CPU in steady state | ${cpuPercent.toFixed(1)} % of one core |`,
    `| busiest Redis commands (share of one core, calls/s) | ${busiest.join('; ')} |`,
    `| before the kill, all workers: jobs whose lock renewal failed; jobs stalled | ${sum(reports.map((r) => r.lockLostJobs))}; ${sum(reports.map((r) => r.stalledJobs))} |`,
  ];
}

/**
 * PINGs Redis every PING_INTERVAL_MS on its own connection until stopped; returns the round trips. A PING
 * answered BUSY (a script holds Redis) is sent again, and counts from its first sending: how long a client
 * could not get an answer.
 */
function startPingProbe(options: RedisOptions): { stop(): Promise<number[]> } {
  const probe = new Redis(options);
  const roundTripsMs: number[] = [];
  let pinging = true;
  const pingThroughBusy = async () => {
    for (;;) {
      try {
        return await probe.ping();
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('BUSY')) throw err;
        await sleep(PING_INTERVAL_MS);
      }
    }
  };
  const loop = (async () => {
    while (pinging) {
      const sentAt = performance.now();
      await pingThroughBusy();
      roundTripsMs.push(performance.now() - sentAt);
      await sleep(PING_INTERVAL_MS);
    }
  })();
  return {
    async stop() {
      pinging = false;
      await loop;
      probe.disconnect();
      return roundTripsMs;
    },
  };
}

/** The slowest event Redis's latency monitor saw since the last LATENCY RESET, as "N ms (event)". */
async function slowestLatencyEvent(redis: Redis): Promise<string> {
  const events = (await redis.call('LATENCY', 'LATEST')) as Array<[string, number, number, number]>;
  const [name, , , maxMs] = events.reduce(
    (worst, event) => (event[3] > worst[3] ? event : worst),
    ['none', 0, 0, 0],
  );
  return `${maxMs} ms (${name})`;
}

interface Recovery {
  /** From the kill until the survivors run more jobs than before it: the first of the victim's is back. */
  firstBackMs: number | null;
  /** From the kill until the survivors run every job; null past FAILOVER_CAP_MS. */
  allBackMs: number | null;
  /** Jobs whose lock a survivor lost may run twice (on it and on whoever took them): the peak shows it. */
  peakRunning: number;
}

async function watchRecovery(survivors: BenchWorker[], killedAt: number): Promise<Recovery> {
  const runningAtKill = running(survivors);
  const recovery: Recovery = { firstBackMs: null, allBackMs: null, peakRunning: runningAtKill };
  recovery.allBackMs = await waitUntil(
    () => {
      const now = running(survivors);
      if (recovery.firstBackMs === null && now > runningAtKill) recovery.firstBackMs = Date.now() - killedAt;
      recovery.peakRunning = Math.max(recovery.peakRunning, now);
      return now >= CAMERAS;
    },
    FAILOVER_CAP_MS,
    () =>
      `${running(survivors)} of ${CAMERAS} jobs running on the survivors, ${seconds(Date.now() - killedAt)} after the kill`,
  );
  return recovery;
}

/** Kills the worker running most jobs and watches the others take its jobs, and what that costs Redis. */
async function measureFailover(redis: Redis, redisOptions: RedisOptions, workers: BenchWorker[]) {
  progress('failover');
  // A queue already losing locks runs cameras twice and moves them about: a failover time means nothing.
  const lostBeforeKill = sum(workers.map((w) => w.report.lockLostJobs));
  if (lostBeforeKill > 0 || running(workers) !== CAMERAS) {
    return [
      `| worker SIGKILLed: failover | not measured: before any fault ${running(workers)} jobs ran for ${CAMERAS} cameras and ${lostBeforeKill} jobs had lost their lock |`,
    ];
  }
  const victim = workers.reduce((busiest, w) => (w.report.running > busiest.report.running ? w : busiest));
  const survivors = workers.filter((w) => w !== victim);
  const held = victim.report.running;
  const lockLostBefore = sum(survivors.map((w) => w.report.lockLostJobs));
  const stalledBefore = sum(survivors.map((w) => w.report.stalledJobs));
  await redis.latency('RESET');
  const probe = startPingProbe(redisOptions);
  const killedAt = Date.now();
  victim.child.kill('SIGKILL');
  const { firstBackMs, allBackMs, peakRunning } = await watchRecovery(survivors, killedAt);
  const pingsMs = await probe.stop();
  const lockLost = sum(survivors.map((w) => w.report.lockLostJobs)) - lockLostBefore;
  const stalled = sum(survivors.map((w) => w.report.stalledJobs)) - stalledBefore;
  const allBack =
    allBackMs === null
      ? `not within ${seconds(FAILOVER_CAP_MS)} (${running(survivors)} running)`
      : seconds(allBackMs);
  return [
    `| worker SIGKILLed (ran ${held} jobs): the first of them running again after | ${firstBackMs === null ? 'never' : seconds(firstBackMs)} |`,
    `| ... and all ${CAMERAS} running on the ${survivors.length} others after | ${allBack} |`,
    `| peak jobs running on the survivors meanwhile | ${peakRunning} (${Math.max(0, peakRunning - CAMERAS)} more than cameras: run twice) |`,
    `| Redis during failover | slowest event ${await slowestLatencyEvent(redis)} (LATENCY LATEST, threshold 100 ms); PING max ${Math.max(...pingsMs).toFixed(1)} ms, p50 ${percentile(pingsMs, 50).toFixed(1)} ms |`,
    `| survivors during failover: jobs whose lock renewal failed; jobs stalled (the victim's ${held} expected) | ${lockLost}; ${stalled} |`,
  ];
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'camrelay-bullmq-'));
  const embedded = await startEmbeddedRedis(dataDir, createLogger('warn'));
  const redisOptions = redisOptionsFromUrl(embedded.url);
  const redis = new Redis(redisOptions);
  const queue = new Queue(QUEUE, { connection: redisOptions });
  const workers: BenchWorker[] = [];
  const rows: string[] = [];
  try {
    await redis.config('SET', 'latency-monitor-threshold', '100');
    // Room for every camera on WORKERS - 1 workers, as camrelay sizes its own, so a failover can complete.
    const concurrency = Math.ceil(CAMERAS / Math.max(1, WORKERS - 1)) + 500;
    for (let w = 1; w <= WORKERS; w++) workers.push(startWorker(`w${w}`, embedded.url, concurrency));
    await waitForReports(workers);
    progress(`${WORKERS} workers ready, concurrency ${concurrency} each`);
    rows.push(...(await measureStart(queue, workers)));
    rows.push(...(await measureSteadyState(redis, workers)));
    if (WORKERS > 1) rows.push(...(await measureFailover(redis, redisOptions, workers)));
    const errors = sum(workers.map((w) => w.report.errors));
    if (errors > 0) rows.push(`| worker errors (besides lock renewals) | ${errors} |`);
  } finally {
    await stopWorkers(workers);
    await queue.close();
    redis.disconnect();
    await embedded.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  console.log(
    `\nBullMQ baseline: ${CAMERAS} cameras as never-ending jobs in one queue, ${WORKERS} workers, one Redis\n`,
  );
  console.log('| measure | result |');
  console.log('|---|---|');
  for (const row of rows) console.log(row);
}

if (process.argv[2] === 'worker') await runWorker();
else await main();
