import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RtspCameras, startRtspCameras } from '../../src/demo/rtsp-cameras.js';
import { FAST_HEALTH, killAll, runCli } from '../support/cli.js';
import { isAlive, processTable } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/** The bootstrap admin token the CLI runs here are given. */
const TOKEN = 'cli-test-admin-token-0123456789abcdef0123';
const auth = { authorization: `Bearer ${TOKEN}` };

function untilOnline(url: string, cameraId: string) {
  return waitFor(`${cameraId} online`, async () => {
    const response = await fetch(`${url}/api/v1/cameras/${cameraId}/health`, { headers: auth });
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
    cameras = await startRtspCameras({ mounts: [{ name: 'cli', kind: 'h264' }] });
    dataDir = await mkdtemp(path.join(tmpdir(), 'camrelay-cli-'));
  });
  afterAll(async () => {
    killAll();
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

  it('needs REDIS_URL, CAMRELAY_SECRET_KEY and CAMERA_NETWORKS for the relay and worker roles', async () => {
    const run = runCli(['worker'], { DATA_DIR: dataDir });
    expect((await run.exited).code).toBe(78);
    const text = run.output.join('\n');
    expect(text).toMatch(/REDIS_URL: is required for the worker role/);
    expect(text).toMatch(/CAMRELAY_SECRET_KEY: is required for the worker role/);
    expect(text).toMatch(/CAMERA_NETWORKS: is required for the worker role/);
  });

  it('runs "all" with its own Redis, ingests, and shuts down cleanly on SIGTERM leaving nothing behind', async () => {
    const run = runCli(['all'], {
      DATA_DIR: dataDir,
      PORT: '0',
      CAMRELAY_ADMIN_TOKEN: TOKEN,
      ...FAST_HEALTH,
    });
    const url = await run.url;
    const pid = run.child.pid as number;
    // redis-server rewrites its title into one string: "/usr/bin/redis-server unixsocket:/…/redis.sock".
    const redisChild = childrenOf(pid).find((p) => p.argv[0]?.includes('redis-server'));
    expect(redisChild?.argv.join(' ')).toContain(path.join(dataDir, 'redis', 'redis.sock'));
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'ready' });

    const created = await fetch(`${url}/api/v1/cameras`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
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
    const run = runCli(['all'], {
      DATA_DIR: dataDir,
      PORT: '0',
      CAMRELAY_ADMIN_TOKEN: TOKEN,
      ...FAST_HEALTH,
    });
    const url = await run.url;
    const camera = await (await fetch(`${url}/api/v1/cameras/cli-cam`, { headers: auth })).json();
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
