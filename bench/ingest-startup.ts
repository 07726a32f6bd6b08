/**
 * Time from registering a camera to its first playlist, and what one remuxing ffmpeg costs under camrelay
 * next to a bare ffmpeg doing the same job (same arguments, same camera, same seconds).
 *
 *   npm run bench:startup            RUNS=5 SAMPLE_SEC=30 by default
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
import { planEncode } from '../src/ingest/codec-policy.js';
import { buildIngestArgs } from '../src/ingest/ffmpeg-args.js';
import { parseMediaPlaylist } from '../src/ingest/playlist.js';
import { processTable } from '../src/ingest/process-table.js';
import { createLogger } from '../src/log.js';
import { measure, median } from './proc-stats.js';

const RUNS = Number(process.env.RUNS ?? 5);
const SAMPLE_SEC = Number(process.env.SAMPLE_SEC ?? 30);
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
  const args = buildIngestArgs({
    url: cameraUrl,
    rtspTransport: 'tcp',
    ioTimeoutMs: 5000,
    plan: planEncode('auto', {
      video: { codec: 'h264', profile: null, pixelFormat: null, width: null, height: null, fps: null },
      audio: null,
    }),
    outputDir: bareDir,
    runId: 'bare',
    segmentDurationSec: 1,
    listSize: 6,
  });
  const bare = spawn(
    'ffmpeg',
    [...args.inputOptions, '-i', args.input, ...args.outputOptions, '-y', args.output],
    {
      stdio: ['ignore', 'ignore', 'ignore'],
    },
  );
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
    console.log(
      `\nTime to playlist, median of ${RUNS} runs (camera 640x360 25 fps, 1 s GOP; 1 s segments)\n`,
    );
    console.log(
      '| camera | first playlist, never seen before | 3 segments, never seen before | first playlist, codecs known |',
    );
    console.log('|---|---|---|---|');
    for (const row of startup) console.log(row);
    console.log(
      `\nOne remuxing ffmpeg, same arguments and camera, sampled side by side for ${SAMPLE_SEC} s\n`,
    );
    console.log('| process | CPU (% of one core) | RSS (median) | PSS (median) |');
    console.log('|---|---|---|---|');
    for (const row of cost) console.log(row);
  } finally {
    await camrelay.stop();
    await cameras.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
