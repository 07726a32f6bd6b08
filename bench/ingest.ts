/**
 * What camrelay costs to ingest N cameras next to N bare ffmpeg doing the same remux (same arguments, same
 * camera, same seconds), and how many remuxed cameras this machine keeps online; and what the LL-HLS
 * packager costs against ffmpeg's HLS muxer (HLS_MODE=ll against HLS_MODE=classic, same N).
 *
 *   npm run bench:ingest            COUNTS=10,50,100 RUNS=3 SAMPLE_SEC=30, then the capacity ramp, then the
 *                                   HLS_MODE comparison at MODE_CAMERAS=50
 *   BENCH_SMOKE=1 npm run bench:ingest    a few cameras for a few seconds, no ramp (the mode comparison at 5)
 *   BENCH_INGEST_MODES=1 npm run bench:ingest    only the HLS_MODE comparison (npm run bench:ingest-modes)
 *
 * The cameras are one shared mount of a real GStreamer RTSP server, so the camera's encoder is paid once and
 * neither side pays it. camrelay runs as users run it (`node dist/main.js all`, its own Redis); its cost is
 * every process it has: node, each ffmpeg and redis-server. Against bare ffmpeg (which runs the HLS muxer)
 * camrelay runs with HLS_MODE=classic, so both run the same ffmpeg arguments; the ramp runs the default
 * mode (RAMP_HLS_MODE, ll). The mode comparison takes classic and ll in alternating order, RUNS times, and
 * reports medians: CPU (% of one core) of camrelay's ffmpeg, of node and redis-server, per camera, and ll
 * over classic (issue 9: the packager must not make ingest dearer by more than 10 %).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRtspCameras } from '../src/demo/rtsp-cameras.js';
import { processTable } from '../src/ingest/process-table.js';
import { freePort } from '../test/support/ports.js';
import { sleep } from '../test/support/wait.js';
import { cpuSeconds, median, memoryMb } from './proc-stats.js';
import { bareRemuxArgv } from './support/bare-ffmpeg.js';
import { descendants, stopChild } from './support/processes.js';

const SMOKE = process.env.BENCH_SMOKE === '1';
const COUNTS = (process.env.COUNTS ?? (SMOKE ? '3' : '10,50,100')).split(',').map(Number);
const RUNS = Number(process.env.RUNS ?? (SMOKE ? 1 : 3));
const SAMPLE_SEC = Number(process.env.SAMPLE_SEC ?? (SMOKE ? 4 : 30));
const WARMUP_SEC = SMOKE ? 3 : 8;
const RAMP = (process.env.RAMP ?? (SMOKE ? '' : '150,200,250,300,350,400'))
  .split(',')
  .filter(Boolean)
  .map(Number);
const HOLD_SEC = Number(process.env.HOLD_SEC ?? 30);
const ONLY_MODES = process.env.BENCH_INGEST_MODES === '1';
const MODE_CAMERAS = Number(process.env.MODE_CAMERAS ?? (SMOKE ? 5 : 50));
const RAMP_HLS_MODE = (process.env.RAMP_HLS_MODE ?? 'll') as HlsMode;
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const TOKEN = `bench-${randomBytes(24).toString('hex')}`;

type HlsMode = 'classic' | 'll';

interface Cost {
  cpuPercentOfCore: number;
  pssMb: number;
  processes: number;
}

/** camrelay's cost split: its ffmpeg, and the rest (node, redis-server), which does not grow per camera. */
interface SplitCost {
  total: Cost;
  ffmpeg: Cost;
  rest: Cost;
}

/** CPU (% of one core) and PSS (median) of each process, sampled side by side. */
async function samplePerProcess(pids: number[], seconds: number): Promise<Map<number, Cost>> {
  const start = new Map(pids.map((pid) => [pid, safe(() => cpuSeconds(pid), 0)]));
  const t0 = performance.now();
  const pss = new Map<number, number[]>(pids.map((pid) => [pid, []]));
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    for (const pid of pids) pss.get(pid)?.push(safe(() => memoryMb(pid).pssMb, Number.NaN));
  }
  const elapsedSec = (performance.now() - t0) / 1000;
  const costs = new Map<number, Cost>();
  for (const pid of pids) {
    const startSec = start.get(pid) ?? 0;
    const cpuSec = safe(() => cpuSeconds(pid), startSec) - startSec;
    const pssMb = median((pss.get(pid) ?? []).filter(Number.isFinite));
    costs.set(pid, { cpuPercentOfCore: (cpuSec / elapsedSec) * 100, pssMb, processes: 1 });
  }
  return costs;
}

function sum(costs: Iterable<Cost>): Cost {
  const total = { cpuPercentOfCore: 0, pssMb: 0, processes: 0 };
  for (const cost of costs) {
    total.cpuPercentOfCore += cost.cpuPercentOfCore;
    total.pssMb += Number.isFinite(cost.pssMb) ? cost.pssMb : 0;
    total.processes += cost.processes;
  }
  return total;
}

async function sample(pids: number[], seconds: number): Promise<Cost> {
  return sum((await samplePerProcess(pids, seconds)).values());
}

/** camrelay's processes, sampled together and split into its ffmpeg and the rest. */
async function sampleCamrelay(root: number, seconds: number): Promise<SplitCost> {
  const table = processTable();
  const pids = [root, ...descendants(root)];
  const isFfmpeg = (pid: number) => table.find((p) => p.pid === pid)?.argv[0]?.endsWith('ffmpeg') ?? false;
  const costs = await samplePerProcess(pids, seconds);
  const pick = (ffmpeg: boolean) =>
    sum(pids.filter((pid) => isFfmpeg(pid) === ffmpeg).map((pid) => costs.get(pid) as Cost));
  return { total: sum(costs.values()), ffmpeg: pick(true), rest: pick(false) };
}

function safe<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** A process and all of its descendants. */
/** N bare ffmpeg with the arguments camrelay gives its own for an H.264 camera. */
async function bareFfmpeg(count: number, cameraUrl: string, dir: string): Promise<Cost> {
  const children: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    const outputDir = await mkdtemp(path.join(dir, `bare-${i}-`));
    children.push(spawn('ffmpeg', bareRemuxArgv(cameraUrl, outputDir), { stdio: 'ignore' }));
  }
  try {
    await sleep(WARMUP_SEC * 1000);
    const alive = children.filter((c) => c.exitCode === null).length;
    if (alive !== count) throw new Error(`only ${alive} of ${count} bare ffmpeg are running`);
    return await sample(
      children.map((c) => c.pid as number),
      SAMPLE_SEC,
    );
  } finally {
    await Promise.all(children.map((child) => stopChild(child)));
  }
}

interface Camrelay {
  child: ChildProcess;
  url: string;
  api(pathname: string, init?: RequestInit): Promise<Response>;
}

async function startCamrelay(dir: string, hlsMode: HlsMode): Promise<Camrelay> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, 'all'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/',
      DATA_DIR: await mkdtemp(path.join(dir, 'camrelay-')),
      PORT: String(port),
      RTMP_PORT: '0',
      LOG_LEVEL: 'warn',
      CAMRELAY_ADMIN_TOKEN: TOKEN,
      WORKER_MAX_STREAMS: '2000',
      RATE_LIMIT_PER_MIN: '1000000',
      HLS_MODE: hlsMode,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const api = (pathname: string, init: RequestInit = {}) =>
    fetch(`${url}${pathname}`, {
      ...init,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers },
    });
  for (let i = 0; i < 200; i++) {
    if ((await api('/readyz').catch(() => null))?.ok) return { child, url, api };
    await sleep(100);
  }
  throw new Error('camrelay did not start');
}

async function online(camrelay: Camrelay): Promise<number> {
  const summary = (await (await camrelay.api('/api/v1/health')).json()) as { byStatus: { online: number } };
  return summary.byStatus.online;
}

async function addCameras(camrelay: Camrelay, from: number, to: number, cameraUrl: string): Promise<void> {
  const rows = [];
  for (let i = from; i < to; i++) rows.push({ id: `bench-${i}`, name: `bench ${i}`, url: cameraUrl });
  const response = await camrelay.api('/api/v1/cameras/import', {
    method: 'POST',
    body: JSON.stringify(rows),
  });
  const result = (await response.json()) as { imported: number };
  if (result.imported !== rows.length) throw new Error(`imported ${result.imported} of ${rows.length}`);
}

async function untilOnline(camrelay: Camrelay, count: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await online(camrelay)) >= count) return true;
    await sleep(500);
  }
  return false;
}

async function camrelayCost(
  count: number,
  cameraUrl: string,
  dir: string,
  hlsMode: HlsMode = 'classic',
): Promise<SplitCost> {
  const camrelay = await startCamrelay(dir, hlsMode);
  try {
    await addCameras(camrelay, 0, count, cameraUrl);
    if (!(await untilOnline(camrelay, count, 60_000)))
      throw new Error(`${await online(camrelay)} of ${count} cameras online after 60 s`);
    await sleep(WARMUP_SEC * 1000);
    return await sampleCamrelay(camrelay.child.pid as number, SAMPLE_SEC);
  } finally {
    await stopChild(camrelay.child);
  }
}

/** Adds cameras step by step; a step holds when every camera stays online for HOLD_SEC. */
async function capacity(cameraUrl: string, dir: string, serverPid: number) {
  const camrelay = await startCamrelay(dir, RAMP_HLS_MODE);
  const rows: string[] = [];
  let held = 0;
  let count = 0;
  try {
    for (const target of RAMP) {
      await addCameras(camrelay, count, target, cameraUrl);
      count = target;
      const up = await untilOnline(camrelay, count, 90_000);
      let lowest = await online(camrelay);
      const cost = up ? await sampleWhile(camrelay, serverPid, (n) => (lowest = Math.min(lowest, n))) : null;
      const holds = up && lowest === count;
      rows.push(
        `| ${count} | ${lowest} | ${cost ? cost.camrelay.cpuPercentOfCore.toFixed(0) : '-'} % | ${cost ? cost.camera.cpuPercentOfCore.toFixed(0) : '-'} % | ${cost ? cost.machineBusyPercent.toFixed(0) : '-'} % | ${holds ? 'yes' : 'no'} |`,
      );
      if (!holds) break;
      held = count;
    }
  } finally {
    await stopChild(camrelay.child);
  }
  return { rows, held };
}

/** Samples camrelay and the camera server for HOLD_SEC while checking, every 2 s, how many are online. */
async function sampleWhile(camrelay: Camrelay, serverPid: number, onCount: (online: number) => void) {
  const busy0 = machineTicks();
  const watching = (async () => {
    const end = Date.now() + HOLD_SEC * 1000;
    while (Date.now() < end) {
      onCount(await online(camrelay));
      await sleep(2000);
    }
  })();
  const [camrelayCost, cameraCost] = await Promise.all([
    sample([camrelay.child.pid as number, ...descendants(camrelay.child.pid as number)], HOLD_SEC),
    sample([serverPid], HOLD_SEC),
  ]);
  await watching;
  const busy1 = machineTicks();
  return {
    camrelay: camrelayCost,
    camera: cameraCost,
    machineBusyPercent: ((busy1.busy - busy0.busy) / (busy1.total - busy0.total)) * 100,
  };
}

/** All CPUs' busy and total ticks since boot, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

function costRow(count: number, bare: Cost[], managed: SplitCost[]): string {
  const m = (values: number[]) => median(values);
  const a = { cpu: m(bare.map((c) => c.cpuPercentOfCore)), pss: m(bare.map((c) => c.pssMb)) };
  const b = {
    cpu: m(managed.map((c) => c.total.cpuPercentOfCore)),
    pss: m(managed.map((c) => c.total.pssMb)),
    ffmpegCpu: m(managed.map((c) => c.ffmpeg.cpuPercentOfCore)),
    ffmpegPss: m(managed.map((c) => c.ffmpeg.pssMb)),
    restCpu: m(managed.map((c) => c.rest.cpuPercentOfCore)),
    restPss: m(managed.map((c) => c.rest.pssMb)),
  };
  const each = (value: number, digits = 2) => (value / count).toFixed(digits);
  return [
    count,
    `${a.cpu.toFixed(1)} %`,
    `${b.cpu.toFixed(1)} % (ffmpeg ${b.ffmpegCpu.toFixed(1)}, node+redis ${b.restCpu.toFixed(1)})`,
    `${each(a.cpu)} % / ${each(b.cpu)} %`,
    `${((b.cpu / a.cpu - 1) * 100).toFixed(0)} %`,
    `${a.pss.toFixed(0)} MB`,
    `${b.pss.toFixed(0)} MB (ffmpeg ${b.ffmpegPss.toFixed(0)}, node+redis ${b.restPss.toFixed(0)})`,
    `${each(a.pss)} / ${each(b.pss)} MB`,
    `${each(b.pss - a.pss)} MB`,
  ].join(' | ');
}

function medianCost(costs: Cost[]): Cost {
  return {
    cpuPercentOfCore: median(costs.map((c) => c.cpuPercentOfCore)),
    pssMb: median(costs.map((c) => c.pssMb)),
    processes: median(costs.map((c) => c.processes)),
  };
}

/** What one more camera costs, between the fewest and the most cameras measured: fixed costs drop out. */
function marginal(totals: Map<number, { bare: Cost; camrelay: Cost }>): string {
  const counts = [...totals.keys()].sort((x, y) => x - y);
  const low = counts[0] as number;
  const high = counts.at(-1) as number;
  if (low === high) return '';
  const slope = (side: 'bare' | 'camrelay', key: 'cpuPercentOfCore' | 'pssMb') =>
    ((totals.get(high)?.[side][key] ?? 0) - (totals.get(low)?.[side][key] ?? 0)) / (high - low);
  return (
    `\nOne more camera, from ${low} to ${high}: bare ffmpeg ${slope('bare', 'cpuPercentOfCore').toFixed(2)} % of a core and ` +
    `${slope('bare', 'pssMb').toFixed(1)} MB; camrelay ${slope('camrelay', 'cpuPercentOfCore').toFixed(2)} % and ` +
    `${slope('camrelay', 'pssMb').toFixed(1)} MB.`
  );
}

/** camrelay with each HLS mode at the same N, in alternating order: what the LL-HLS packager costs. */
async function modeComparison(cameraUrl: string, dir: string): Promise<void> {
  const costs: Record<HlsMode, SplitCost[]> = { classic: [], ll: [] };
  for (let run = 0; run < RUNS; run++) {
    const order: HlsMode[] = run % 2 === 0 ? ['classic', 'll'] : ['ll', 'classic'];
    for (const mode of order) costs[mode].push(await camrelayCost(MODE_CAMERAS, cameraUrl, dir, mode));
    console.error(`ingest: HLS_MODE comparison at ${MODE_CAMERAS} cameras, run ${run + 1} of ${RUNS} done`);
  }
  const medianOf = (mode: HlsMode) => {
    const m = (pick: (cost: SplitCost) => number) => median(costs[mode].map(pick));
    return {
      total: m((c) => c.total.cpuPercentOfCore),
      ffmpeg: m((c) => c.ffmpeg.cpuPercentOfCore),
      rest: m((c) => c.rest.cpuPercentOfCore),
      pss: m((c) => c.total.pssMb),
      runs: costs[mode].map((c) => c.total.cpuPercentOfCore.toFixed(1)).join(', '),
    };
  };
  const classic = medianOf('classic');
  const ll = medianOf('ll');
  const each = (value: number) => (value / MODE_CAMERAS).toFixed(3);
  const row = (label: string, cost: ReturnType<typeof medianOf>) =>
    `| ${label} | ${cost.total.toFixed(1)} % (runs: ${cost.runs}) | ${cost.ffmpeg.toFixed(1)} % | ${cost.rest.toFixed(1)} % | ${each(cost.total)} % | ${each(cost.ffmpeg)} % | ${each(cost.rest)} % | ${cost.pss.toFixed(0)} MB |`;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)} (${((a / b - 1) * 100).toFixed(0)} %)`;
  console.log(
    `\nHLS_MODE=ll (fMP4 on a pipe, LL-HLS packager in node) against HLS_MODE=classic (ffmpeg's HLS muxer, MPEG-TS files): ` +
      `camrelay all, ${MODE_CAMERAS} remuxed cameras, median of ${RUNS} runs in alternating order, each sampled for ${SAMPLE_SEC} s ` +
      `after ${WARMUP_SEC} s with every camera online. CPU is % of one core.\n`,
  );
  console.log(
    '| HLS_MODE | CPU, all processes | ffmpeg | node + redis | per camera, all | per camera, ffmpeg | per camera, node + redis | PSS, all processes |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  console.log(row('classic', classic));
  console.log(row('ll', ll));
  console.log(
    `| ll / classic | ${ratio(ll.total, classic.total)} | ${ratio(ll.ffmpeg, classic.ffmpeg)} | ${ratio(ll.rest, classic.rest)} | | | | ${ratio(ll.pss, classic.pss)} |`,
  );
  const verdict = ll.total <= classic.total * 1.1 ? 'met' : 'missed';
  console.log(`\nIssue 9's bound (ll at most 10 % dearer than classic, all processes): ${verdict}.`);
}

async function main() {
  if (RAMP_HLS_MODE !== 'classic' && RAMP_HLS_MODE !== 'll')
    throw new Error('RAMP_HLS_MODE must be classic or ll');
  const dir = await mkdtemp(path.join(tmpdir(), 'camrelay-bench-ingest-'));
  const cameras = await startRtspCameras({ mounts: [{ name: 'shared', kind: 'h264' }] });
  const cameraUrl = cameras.url('shared');
  const serverPid = cameras.pid;
  try {
    if (!ONLY_MODES) await bareAndRamp(cameraUrl, dir, serverPid);
    await modeComparison(cameraUrl, dir);
  } finally {
    await cameras.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The first two tables: bare ffmpeg against camrelay (classic, the same arguments), then the ramp. */
async function bareAndRamp(cameraUrl: string, dir: string, serverPid: number): Promise<void> {
  const rows: string[] = [];
  const totals = new Map<number, { bare: Cost; camrelay: Cost }>();
  for (const count of COUNTS) {
    const bare: Cost[] = [];
    const managed: SplitCost[] = [];
    for (let run = 0; run < RUNS; run++) {
      // Alternating the order spreads any drift of the machine over both sides.
      if (run % 2 === 0) {
        bare.push(await bareFfmpeg(count, cameraUrl, dir));
        managed.push(await camrelayCost(count, cameraUrl, dir));
      } else {
        managed.push(await camrelayCost(count, cameraUrl, dir));
        bare.push(await bareFfmpeg(count, cameraUrl, dir));
      }
      console.error(`ingest: ${count} cameras, run ${run + 1} of ${RUNS} done`);
    }
    rows.push(`| ${costRow(count, bare, managed)} |`);
    totals.set(count, { bare: medianCost(bare), camrelay: medianCost(managed.map((c) => c.total)) });
  }
  console.log(
    `\nIngest cost: N remuxed H.264 cameras (640x360, 25 fps, about 800 kbit/s), median of ${RUNS} runs, each sampled for ${SAMPLE_SEC} s` +
      ' (camrelay with HLS_MODE=classic: the same ffmpeg arguments as bare)\n',
  );
  console.log(
    '| cameras | CPU, N bare ffmpeg | CPU, camrelay (all processes) | per stream, bare / camrelay | camrelay over bare | PSS, bare | PSS, camrelay | per stream, bare / camrelay | PSS over bare, per stream |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  console.log(marginal(totals));
  if (RAMP.length > 0) {
    const { rows: ramp, held } = await capacity(cameraUrl, dir, serverPid);
    console.log(
      `\nCapacity (HLS_MODE=${RAMP_HLS_MODE}): cameras added in steps; a step holds when all stay online for ${HOLD_SEC} s\n`,
    );
    console.log('| cameras | fewest online | CPU, camrelay | CPU, camera server | machine busy | holds |');
    console.log('|---|---|---|---|---|---|');
    for (const row of ramp) console.log(row);
    console.log(`\nHeld: ${held} cameras`);
  }
}

await main();
