import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RtspCameras, startRtspCameras } from '../../src/demo/rtsp-cameras.js';
import { isAlive, processTable } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

interface CliRun {
  child: ChildProcess;
  url: Promise<string>;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Every CLI process a test started, so none outlives a failed test. */
const started: ChildProcess[] = [];

/** camrelay as users run it: the built CLI in its own process, with only the environment we give it. */
function runCli(args: string[], env: Record<string, string>): CliRun {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const output: string[] = [];
  let resolveUrl: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => {
    resolveUrl = resolve;
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream as NodeJS.ReadableStream }).on('line', (line) => {
      output.push(line);
      const started = /"msg":"camrelay started"/.test(line) ? (JSON.parse(line) as { url: string }) : null;
      if (started) resolveUrl(started.url);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, url, output, exited };
}

/** Short health timings, so the test sees status changes quickly. */
const FAST_HEALTH = { HEALTH_PUBLISH_INTERVAL_MS: '500', HEALTH_STALE_MS: '3000' };

function untilOnline(url: string, cameraId: string) {
  return waitFor(`${cameraId} online`, async () => {
    const response = await fetch(`${url}/api/v1/cameras/${cameraId}/health`);
    return ((await response.json()) as { status: string }).status === 'online';
  });
}

function childrenOf(pid: number) {
  return processTable().filter((p) => p.ppid === pid);
}

function processesUsing(dir: string) {
  return processTable().filter((p) => p.argv.some((arg) => arg.includes(dir)));
}

describe('camrelay CLI', () => {
  let cameras: RtspCameras;
  let dataDir: string;

  beforeAll(async () => {
    expect(existsSync(MAIN), 'dist/main.js is missing: run npm run build').toBe(true);
    cameras = await startRtspCameras({ mounts: [{ name: 'cli', kind: 'h264' }] });
    dataDir = await mkdtemp(path.join(tmpdir(), 'camrelay-cli-'));
  });
  afterAll(async () => {
    for (const child of started)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await cameras?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a bad configuration naming every bad key, before starting anything', async () => {
    const run = runCli(['all'], { PORT: 'abc', LOG_LEVEL: 'loud', DATA_DIR: dataDir });
    expect((await run.exited).code).toBe(78);
    const text = run.output.join('\n');
    expect(text).toMatch(/PORT: must be a number/);
    expect(text).toMatch(/LOG_LEVEL: /);
  });

  it('needs REDIS_URL for the relay and worker roles', async () => {
    const run = runCli(['worker'], { DATA_DIR: dataDir });
    expect((await run.exited).code).toBe(78);
    expect(run.output.join('\n')).toMatch(/REDIS_URL: is required for the worker role/);
  });

  it('runs "all" with its own Redis, ingests, and shuts down cleanly on SIGTERM leaving nothing behind', async () => {
    const run = runCli(['all'], { DATA_DIR: dataDir, PORT: '0', ...FAST_HEALTH });
    const url = await run.url;
    const pid = run.child.pid as number;
    // redis-server rewrites its title into one string: "/usr/bin/redis-server unixsocket:/…/redis.sock".
    const redisChild = childrenOf(pid).find((p) => p.argv[0]?.includes('redis-server'));
    expect(redisChild?.argv.join(' ')).toContain(path.join(dataDir, 'redis', 'redis.sock'));
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'ready' });

    const created = await fetch(`${url}/api/v1/cameras`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'cli-cam', name: 'CLI', url: cameras.url('cli') }),
    });
    expect(created.status).toBe(201);
    await untilOnline(url, 'cli-cam');
    const ffmpeg = childrenOf(pid).find((p) => p.argv[0]?.endsWith('ffmpeg'));
    expect(ffmpeg).toBeDefined();

    run.child.kill('SIGTERM');
    const exit = await run.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(isAlive(ffmpeg?.pid as number)).toBe(false);
    expect(isAlive(redisChild?.pid as number)).toBe(false);
    expect(processesUsing(dataDir)).toEqual([]);
    expect(existsSync(path.join(dataDir, 'redis', 'appendonlydir'))).toBe(true);
  });

  it('keeps cameras across a restart (AOF), and leaves no orphans when SIGKILLed', async () => {
    const run = runCli(['all'], { DATA_DIR: dataDir, PORT: '0', ...FAST_HEALTH });
    const url = await run.url;
    const camera = await (await fetch(`${url}/api/v1/cameras/cli-cam`)).json();
    expect(camera).toMatchObject({ id: 'cli-cam', name: 'CLI' });
    await untilOnline(url, 'cli-cam');
    const children = childrenOf(run.child.pid as number);
    expect(children.some((p) => p.argv[0]?.endsWith('ffmpeg'))).toBe(true);
    expect(children.some((p) => p.argv[0]?.includes('redis-server'))).toBe(true);

    run.child.kill('SIGKILL');
    await run.exited;
    await waitFor('children gone', () => children.every((p) => !isAlive(p.pid)), { timeoutMs: 5000 });
    expect(processesUsing(dataDir)).toEqual([]);
  });
});
