/**
 * Detection and recovery times of each fault the supervisor handles, on real parts with default settings:
 * embedded Redis, the relay in this process, `camrelay worker` as a separate process, GStreamer cameras.
 *
 *   npm run bench:faults            RUNS=5 by default
 *
 * Times are measured by polling the relay's health API every 50 ms, as an operator's tool would see them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCamrelay } from '../src/camrelay.js';
import { loadConfig } from '../src/config/load.js';
import { startRtspCameras } from '../src/demo/rtsp-cameras.js';
import { createLogger } from '../src/log.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { median } from './proc-stats.js';

const RUNS = Number(process.env.RUNS ?? 5);
/** A fault whose detection or recovery takes longer is a finding, not a reason to wait forever. */
const UNTIL_CAP_MS = 120_000;
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const CAMERA = 'bench-cam';
const credentials = { user: 'bench', password: 'Bench-Pass-1' };
const ADMIN_TOKEN = `bench-${randomBytes(24).toString('hex')}`;

interface Timing {
  detectMs: number;
  recoverMs: number;
}

async function main() {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'camrelay-faults-'));
  const log = createLogger('warn');
  const redis = await startEmbeddedRedis(dataDir, log);
  const env = {
    REDIS_URL: redis.url,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    CAMRELAY_SECRET_KEY: randomBytes(32).toString('hex'),
    CAMRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
    CAMERA_NETWORKS: '127.0.0.0/8',
    // It polls every 50 ms, far above what the API allows one client by default.
    RATE_LIMIT_PER_MIN: '1000000',
  };
  const relay = await startCamrelay(loadConfig({ ...env, PORT: '0' }), 'relay', log);
  let worker = startWorker(env);
  let camera = await startRtspCameras({ mounts: [{ name: 'cam', kind: 'h264' }], ...credentials });
  const api = (pathname: string, init: RequestInit = {}) =>
    fetch(`${relay.url}${pathname}`, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers as Record<string, string>) },
    });
  const patch = (body: unknown) =>
    api(`/api/v1/cameras/${CAMERA}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const status = async () => {
    const response = await api(`/api/v1/cameras/${CAMERA}/health`);
    if (!response.ok) return `HTTP ${response.status}`;
    return ((await response.json()) as { status: string }).status;
  };
  const until = async (wanted: (s: string) => boolean, from: number) => {
    let last = '';
    while (Date.now() - from < UNTIL_CAP_MS) {
      const now = await status();
      if (now !== last) console.error(`  ${((Date.now() - from) / 1000).toFixed(2)} s: ${now}`);
      last = now;
      if (wanted(now)) return Date.now() - from;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no wanted status within ${UNTIL_CAP_MS} ms; still ${last}`);
  };
  const online = (s: string) => s === 'online';
  const results: Record<string, Timing[]> = {};
  const record = (name: string, timing: Timing) => {
    results[name] ??= [];
    results[name].push(timing);
    console.error(`${name}: detect ${timing.detectMs} ms, recover ${timing.recoverMs} ms`);
  };

  try {
    await api('/api/v1/cameras', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: CAMERA, name: 'bench', url: camera.url('cam', credentials) }),
    });
    await until(online, Date.now());
    for (let run = 0; run < RUNS; run++) {
      // The camera's RTSP server dies, stays away 2 s, comes back on the same port.
      let t = Date.now();
      const port = camera.port;
      await camera.stop();
      const killDetect = await until((s) => s === 'offline', t);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      camera = await startRtspCameras({ port, mounts: [{ name: 'cam', kind: 'h264' }], ...credentials });
      t = Date.now();
      record('camera server killed, back after 2 s', {
        detectMs: killDetect,
        recoverMs: await until(online, t),
      });

      // The camera freezes: RTSP session open, no frames.
      t = Date.now();
      await camera.pause('cam');
      const freezeDetect = await until((s) => s === 'stalled', t);
      await camera.resume('cam');
      t = Date.now();
      record('camera frozen (no frames), then moving', {
        detectMs: freezeDetect,
        recoverMs: await until(online, t),
      });

      // Credentials changed on the camera side: simulated by a wrong password, then fixed with PATCH.
      t = Date.now();
      await patch({ url: camera.url('cam', { ...credentials, password: 'wrong-one' }) });
      const authDetect = await until((s) => s === 'auth_failed', t);
      t = Date.now();
      await patch({ url: camera.url('cam', credentials) });
      record('wrong credentials, fixed by PATCH', {
        detectMs: authDetect,
        recoverMs: await until(online, t),
      });

      // A host that accepts TCP and never speaks RTSP.
      const silent = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      t = Date.now();
      await patch({ url: `rtsp://127.0.0.1:${(silent.address() as { port: number }).port}/x` });
      const silentDetect = await until((s) => s === 'offline', t);
      silent.close();
      t = Date.now();
      await patch({ url: camera.url('cam', credentials) });
      record('TCP open, RTSP silent (I/O timeout)', {
        detectMs: silentDetect,
        recoverMs: await until(online, t),
      });

      // The worker process is SIGKILLed; a new one is started at once.
      t = Date.now();
      worker.kill('SIGKILL');
      const killed = worker;
      await new Promise((resolve) => killed.once('exit', resolve));
      worker = startWorker(env);
      const workerDetect = await until((s) => s !== 'online', t);
      record('worker SIGKILLed, a new worker started at once', {
        detectMs: workerDetect,
        recoverMs: await until(online, t),
      });
    }
  } finally {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
    await relay.stop();
    await camera.stop();
    await redis.stop();
    await rm(dataDir, { recursive: true, force: true });
  }

  const range = (values: number[]) =>
    `${(median(values) / 1000).toFixed(2)} s (${(Math.min(...values) / 1000).toFixed(2)}-${(Math.max(...values) / 1000).toFixed(2)})`;
  console.log(`\nDetection and recovery, median (min-max) of ${RUNS} runs, default settings\n`);
  console.log(
    '| fault | detected: status leaves online, from the fault | recovered: online again, from the fix |',
  );
  console.log('|---|---|---|');
  for (const [name, timings] of Object.entries(results)) {
    console.log(
      `| ${name} | ${range(timings.map((t) => t.detectMs))} | ${range(timings.map((t) => t.recoverMs))} |`,
    );
  }
}

/** WORKER_LOG=path appends the workers' logs (at info) to that file, to look into an odd figure. */
function startWorker(env: Record<string, string>): ChildProcess {
  const logPath = process.env.WORKER_LOG;
  const log = logPath ? openSync(logPath, 'a') : 'ignore';
  return spawn(process.execPath, [MAIN, 'worker'], {
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      WORKER_PORT: '0',
      ...(logPath ? { LOG_LEVEL: 'info' } : {}),
    },
    stdio: ['ignore', log, log],
  });
}

await main();
