/**
 * A city on one machine: CAMERAS cameras (62,000 by default) imported through the API, then run by WORKERS
 * `camrelay worker` processes whose ingest is simulated (no ffmpeg; bench/simulated-supervisor.ts), while
 * leases, start commands, health, events and the relay are the real thing, on one real Redis.
 *
 *   npm run bench:city            CAMERAS=62000 WORKERS=4 by default; then runs the BullMQ baseline
 *                                 (bench/bullmq-baseline.ts) at the same size, for comparison
 *
 * Measures: import time; time until every camera is online; Redis memory per camera; Redis CPU and the
 * busiest commands in steady state; latency of the health API under load; failover when a worker is
 * SIGKILLed (until every camera is online again), with the slowest Redis command seen meanwhile.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createLogger } from '../src/log.js';
import { redisOptionsFromUrl } from '../src/redis/connection.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { runCli } from '../test/support/cli.js';
import { median } from './proc-stats.js';
import { busiestCommands, commandStats, percentile, progress, redisCpuSeconds } from './redis-stats.js';

const CAMERAS = Number(process.env.CAMERAS ?? 62_000);
const WORKERS = Number(process.env.WORKERS ?? 4);
const ADMIN = `bench-${randomBytes(24).toString('hex')}`;
const auth = { authorization: `Bearer ${ADMIN}` };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
}

async function main() {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'camrelay-city-'));
  const embedded = await startEmbeddedRedis(dataDir, createLogger('warn'));
  const redis = new Redis(redisOptionsFromUrl(embedded.url));
  await redis.config('SET', 'latency-monitor-threshold', '10');
  const env = {
    REDIS_URL: embedded.url,
    CAMRELAY_SECRET_KEY: randomBytes(32).toString('hex'),
    CAMRELAY_ADMIN_TOKEN: ADMIN,
    CAMERA_NETWORKS: '127.0.0.0/8',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  };
  // At info, so it says where it listens.
  const relay = runCli(['relay'], { ...env, PORT: '0', RATE_LIMIT_PER_MIN: '1000000', LOG_LEVEL: 'info' });
  const base = await Promise.race([
    relay.url,
    relay.exited.then(() => {
      throw new Error(`the relay exited: ${relay.output.join('\n')}`);
    }),
  ]);
  const workers: ChildProcess[] = [];
  const rows: string[] = [];
  try {
    // Import: one CSV, addresses on loopback (the simulation connects to none of them).
    const csv = ['id,name,url'];
    for (let i = 0; i < CAMERAS; i++) {
      csv.push(`cam-${i},Camera ${i},rtsp://127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:554/stream1`);
    }
    progress(`relay at ${base}; importing ${CAMERAS} cameras`);
    const memoryBefore = await usedMemory(redis);
    let t = Date.now();
    const imported = (await (
      await fetch(`${base}/api/v1/cameras/import`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'text/csv' },
        body: csv.join('\n'),
      })
    ).json()) as { imported: number; failed: number };
    const importMs = Date.now() - t;
    rows.push(
      `| import ${CAMERAS} cameras (CSV, one request) | ${seconds(importMs)} (${imported.imported} imported, ${imported.failed} refused) |`,
    );

    // Assignment: workers start and take every camera.
    const perWorker = Math.ceil(CAMERAS / Math.max(1, WORKERS - 1)) + 500;
    t = Date.now();
    for (let w = 1; w <= WORKERS; w++) workers.push(startWorker(env, `w${w}`, perWorker, dataDir));
    // Progress lines name every status but online, to show where the others are.
    let others = '';
    const online = async () => {
      const summary = (await (await fetch(`${base}/api/v1/health`, { headers: auth })).json()) as {
        byStatus: Record<string, number>;
      };
      const { online: count = 0, ...rest } = summary.byStatus;
      others = Object.entries(rest)
        .filter(([, n]) => n > 0)
        .map(([status, n]) => `${status} ${n}`)
        .join(', ');
      return count;
    };
    for (let count = await online(); count < CAMERAS; count = await online()) {
      progress(`${count} of ${CAMERAS} online (${others})`);
      await sleep(2000);
    }
    rows.push(
      `| all ${CAMERAS} cameras online after ${WORKERS} workers start | ${seconds(Date.now() - t)} |`,
    );

    progress('steady state');
    // Steady state.
    await sleep(5000);
    const cpu0 = await redisCpuSeconds(redis);
    const stats0 = await commandStats(redis);
    const steadyMs = 20_000;
    await sleep(steadyMs);
    const cpu = ((await redisCpuSeconds(redis)) - cpu0) / (steadyMs / 1000);
    const stats1 = await commandStats(redis);
    const memory = await usedMemory(redis);
    rows.push(
      `| Redis memory | ${(memory / 2 ** 20).toFixed(0)} MB in all, ${((memory - memoryBefore) / CAMERAS).toFixed(0)} bytes a camera |`,
    );
    rows.push(`| Redis CPU in steady state | ${(cpu * 100).toFixed(1)} % of one core |`);
    const busiest = busiestCommands(stats0, stats1, steadyMs);
    rows.push(`| busiest Redis commands (share of one core, calls/s) | ${busiest.join('; ')} |`);

    // API latency under load: 8 clients at once, for 10 s each.
    const load = async (path: () => string) => {
      const times: number[] = [];
      const until = Date.now() + 10_000;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (Date.now() < until) {
            const started = performance.now();
            await (await fetch(`${base}${path()}`, { headers: auth })).arrayBuffer();
            times.push(performance.now() - started);
          }
        }),
      );
      return `p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms (${Math.round(times.length / 10)} req/s)`;
    };
    rows.push(`| GET /api/v1/health, 8 clients | ${await load(() => '/api/v1/health')} |`);
    rows.push(
      `| GET /api/v1/cameras/:id/health, 8 clients | ${await load(() => `/api/v1/cameras/cam-${Math.floor(Math.random() * CAMERAS)}/health`)} |`,
    );
    rows.push(
      `| GET /api/v1/cameras?limit=100 (a page), 8 clients | ${await load(() => '/api/v1/cameras?limit=100')} |`,
    );

    progress('failover');
    // Failover: SIGKILL the worker that holds most cameras, wait until every camera is online again.
    const holdings = await Promise.all(
      workers.map(async (_, i) => Number(await redis.hget(`camrelay:worker:w${i + 1}`, 'streams'))),
    );
    const held = Math.max(...holdings);
    const victim = workers[holdings.indexOf(held)] as ChildProcess;
    progress(`cameras per worker: ${holdings.join(', ')}`);
    await redis.latency('RESET');
    const pings: number[] = [];
    let pinging = true;
    const pinger = (async () => {
      const probe = new Redis(redisOptionsFromUrl(embedded.url));
      while (pinging) {
        const started = performance.now();
        await probe.ping();
        pings.push(performance.now() - started);
        await sleep(20);
      }
      probe.disconnect();
    })();
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    let detectedMs: number | null = null;
    for (let polls = 0; ; polls++) {
      const count = await online();
      if (polls % 4 === 0)
        progress(
          `${count} of ${CAMERAS} online, ${seconds(Date.now() - killedAt)} after the kill (${others})`,
        );
      if (detectedMs === null && count < CAMERAS) detectedMs = Date.now() - killedAt;
      if (polls === 60) await describeStragglers(redis);
      if (detectedMs !== null && count === CAMERAS) break;
      await sleep(250);
    }
    const recoveredMs = Date.now() - killedAt;
    pinging = false;
    await pinger;
    const latency = (await redis.call('LATENCY', 'LATEST')) as Array<[string, number, number, number]>;
    const worstEvent = latency.reduce((worst, [, , , max]) => Math.max(worst, max), 0);
    rows.push(
      `| worker SIGKILLed (held ${held} cameras): its cameras read offline after | ${seconds(detectedMs ?? 0)} |`,
    );
    rows.push(
      `| ... and all ${CAMERAS} online again (on the ${WORKERS - 1} others) after | ${seconds(recoveredMs)} |`,
    );
    rows.push(
      `| Redis during failover | slowest event ${worstEvent} ms (LATENCY LATEST); PING p50 ${median(pings).toFixed(1)} ms, max ${Math.max(...pings).toFixed(1)} ms |`,
    );
  } finally {
    for (const worker of workers) worker.kill('SIGTERM');
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise((resolve) =>
            worker.exitCode !== null || worker.signalCode !== null
              ? resolve(null)
              : worker.once('exit', resolve),
          ),
      ),
    );
    relay.child.kill('SIGTERM');
    await relay.exited;
    redis.disconnect();
    await embedded.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  console.log(`\nCity simulation: ${CAMERAS} cameras, ${WORKERS} workers, simulated ingest, one Redis\n`);
  console.log('| measure | result |');
  console.log('|---|---|');
  for (const row of rows) console.log(row);
}

/** Where the cameras that are not online are, with the latest events of a few: for a slow failover. */
async function describeStragglers(redis: Redis): Promise<void> {
  const groups = new Map<string, string[]>();
  for (let i = 0; i < CAMERAS; i += 1000) {
    const pipeline = redis.pipeline();
    const ids = Array.from({ length: Math.min(1000, CAMERAS - i) }, (_, j) => `cam-${i + j}`);
    for (const id of ids) pipeline.hmget(`camrelay:health:${id}`, 'status', 'workerId');
    const results = (await pipeline.exec()) ?? [];
    results.forEach(([, fields], j) => {
      const [status, workerId] = fields as [string | null, string | null];
      if (status === 'online') return;
      const group = `${status} on ${workerId || 'no worker'}`;
      groups.set(group, [...(groups.get(group) ?? []), ids[j] as string]);
    });
  }
  for (const [group, ids] of groups) {
    progress(`not online: ${ids.length} ${group}, e.g. ${ids.slice(0, 3).join(' ')}`);
    for (const id of ids.slice(0, 2)) {
      const history = await redis.lrange(`camrelay:history:${id}`, 0, 4);
      progress(`  ${id}: ${history.join(' | ')}`);
    }
  }
}

function startWorker(
  env: Record<string, string>,
  id: string,
  maxStreams: number,
  dataDir: string,
): ChildProcess {
  const script = new URL('./sim-worker.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      WORKER_ID: id,
      WORKER_PORT: '0',
      WORKER_MAX_STREAMS: String(maxStreams),
      HLS_ROOT: path.join(dataDir, `hls-${id}`),
    },
    // Logs (warnings and up) go to the benchmark's stderr; stdin ties the worker's life to the benchmark's.
    stdio: ['pipe', process.stderr, 'inherit'],
  });
  return child;
}

await main();
