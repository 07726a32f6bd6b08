import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { killAll, runCli } from '../support/cli.js';
import { isAlive } from '../support/processes.js';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';
import { waitFor } from '../support/wait.js';

/**
 * What the relay's memory of local HLS files must never change: a file that appears is served at once, a
 * playlist that changes is served changed within a fraction of a segment. Files are written by hand as
 * ffmpeg writes them (a temporary file renamed into place).
 */
describe('relay serving files from its disk', () => {
  let relay: TestCamrelay;
  let dir: string;

  beforeAll(async () => {
    // Files on disk as ffmpeg's HLS muxer writes them: the classic mode's path.
    relay = await startTestCamrelay('relay', { HLS_MODE: 'classic' });
    await relay.api('/api/v1/cameras', {
      method: 'POST',
      json: { id: 'cam-disk', name: 'disk', url: 'rtsp://127.0.0.1/disk' },
    });
    dir = path.join(relay.config.hlsRoot, 'cam-disk');
    await mkdir(dir, { recursive: true });
  });
  afterAll(async () => {
    await relay?.close();
  });

  const publish = async (file: string, body: string | Buffer) => {
    await writeFile(path.join(dir, `${file}.tmp`), body);
    await rename(path.join(dir, `${file}.tmp`), path.join(dir, file));
  };
  const playlist = (sequence: number) =>
    [
      '#EXTM3U',
      '#EXT-X-TARGETDURATION:1',
      `#EXT-X-MEDIA-SEQUENCE:${sequence}`,
      '#EXTINF:1.0,',
      `r1-${sequence}.ts`,
      '',
    ].join('\n');

  it('serves a segment asked for before it existed as soon as it exists', async () => {
    expect((await relay.hls('cam-disk', 'r1-1.ts')).status).toBe(404);
    const body = randomBytes(188 * 100);
    await publish('r1-1.ts', body);
    const response = await relay.hls('cam-disk', 'r1-1.ts');
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(body)).toBe(true);
    // Kept: the same bytes again, from memory or disk alike.
    expect(Buffer.from(await (await relay.hls('cam-disk', 'r1-1.ts')).arrayBuffer()).equals(body)).toBe(true);
  });

  it('serves each new version of a playlist within a fraction of a segment', async () => {
    for (let sequence = 10; sequence < 15; sequence++) {
      await publish('index.m3u8', playlist(sequence));
      const t0 = performance.now();
      await waitFor(
        `playlist ${sequence}`,
        async () =>
          (await (await relay.hls('cam-disk', 'index.m3u8')).text()).includes(`SEQUENCE:${sequence}\n`),
        { timeoutMs: 2000, intervalMs: 10 },
      );
      expect(performance.now() - t0).toBeLessThan(600);
    }
  });
});

describe('RELAY_PROCESSES', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'camrelay-cluster-'));
  });
  afterAll(async () => {
    killAll();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('runs relays on one port, replaces one that dies, and stops them all on SIGTERM', async () => {
    const run = runCli(['relay'], {
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: `t-${randomBytes(4).toString('hex')}`,
      CAMRELAY_SECRET_KEY: randomBytes(32).toString('hex'),
      CAMERA_NETWORKS: '127.0.0.0/8',
      DATA_DIR: dataDir,
      PORT: '0',
      RELAY_PROCESSES: '2',
      LOG_LEVEL: 'info',
    });
    const relayPids = () =>
      run.output
        .filter((line) => line.includes('"msg":"camrelay started"'))
        .map((line) => (JSON.parse(line) as { pid: number }).pid);
    await waitFor('two relay processes', () => relayPids().length === 2);
    const url = await run.url;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const [first, second] = relayPids() as [number, number];
    expect(first).not.toBe(run.child.pid);
    expect(second).not.toBe(first);

    process.kill(first, 'SIGKILL');
    await waitFor('a third relay process', () => relayPids().length === 3);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    for (const pid of relayPids()) expect(isAlive(pid), `relay ${pid}`).toBe(false);
  });
});
