import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RtspCameras, startRtspCameras } from '../../src/demo/rtsp-cameras.js';
import { parseMediaPlaylist } from '../../src/ingest/playlist.js';
import { type CliRun, killAll, runCli, workerEnv } from '../support/cli.js';
import { startPartitionProxy } from '../support/partition-proxy.js';
import { ffmpegWritingInto, processTable } from '../support/processes.js';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';
import { sleep, waitFor } from '../support/wait.js';

const CAMERAS = ['d1', 'd2', 'd3', 'd4'];

/**
 * Several processes as on several hosts: a relay, and `camrelay worker` processes on the same Redis. The
 * process table is the judge: a camera must never have two ffmpeg writing it, not even for a moment.
 */
describe('workers sharing cameras', () => {
  let relay: TestCamrelay;
  let cameras: RtspCameras;
  const writers: Array<{ cameraId: string; count: number }> = [];
  let watching = true;
  let watcher: Promise<void>;

  beforeAll(async () => {
    relay = await startTestCamrelay('relay');
    cameras = await startRtspCameras({
      mounts: [
        { name: 'a', kind: 'h264' },
        { name: 'b', kind: 'h264' },
      ],
    });
    // Sampled all along: how many ffmpeg write into each camera's folder.
    watcher = (async () => {
      while (watching) {
        const table = processTable();
        for (const cameraId of CAMERAS) {
          const prefix = `${path.join(relay.config.hlsRoot, cameraId)}/`;
          const count = table.filter(
            (p) => p.argv[0]?.endsWith('ffmpeg') && p.argv.some((a) => a.startsWith(prefix)),
          ).length;
          if (count > 1) writers.push({ cameraId, count });
        }
        await sleep(50);
      }
    })();
  });
  afterAll(async () => {
    watching = false;
    await watcher;
    killAll();
    await relay?.close();
    await cameras?.stop();
  });

  const worker = (name: string): CliRun =>
    runCli(['worker'], workerEnv(relay, inject('redisUrl'), { WORKER_ID: name }));
  const healthOf = async (id: string) => (await relay.api(`/api/v1/cameras/${id}/health`)).json();
  const allOnlineOn = async (workerId: string) => {
    const records = await Promise.all(CAMERAS.map(healthOf));
    return records.every((r) => r.status === 'online' && r.workerId === workerId);
  };

  /** Registers the cameras unless an earlier test did. */
  const register = async () => {
    for (const [i, id] of CAMERAS.entries()) {
      const response = await relay.api('/api/v1/cameras', {
        method: 'POST',
        json: { id, name: id, url: cameras.url(i % 2 ? 'a' : 'b') },
      });
      expect([201, 409]).toContain(response.status);
    }
  };

  it('moves every camera of a SIGKILLed worker to the survivor, never with two ffmpeg at once', async () => {
    const first = worker('w-first');
    await first.url;
    await register();
    await waitFor('all online on w-first', () => allOnlineOn('w-first'), { timeoutMs: 30_000 });
    const second = worker('w-second');
    await second.url;

    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await first.exited;
    await waitFor('all online on w-second', () => allOnlineOn('w-second'), { timeoutMs: 15_000 });
    console.info(`failover of ${CAMERAS.length} cameras: ${Date.now() - killedAt} ms`);
    for (const id of CAMERAS) expect(ffmpegWritingInto(path.join(relay.config.hlsRoot, id))).toHaveLength(1);
    expect(writers).toEqual([]);

    const third = worker('w-third');
    await third.url;
    // SIGTERM: the cameras are handed over at once, not after a lease runs out.
    const stoppingAt = Date.now();
    second.child.kill('SIGTERM');
    await waitFor(
      'all held by w-third',
      async () => (await Promise.all(CAMERAS.map(healthOf))).every((r) => r.workerId === 'w-third'),
      {
        timeoutMs: 3000,
        intervalMs: 50,
      },
    );
    const handedOverMs = Date.now() - stoppingAt;
    expect(await second.exited).toEqual({ code: 0, signal: null });
    await waitFor('all online on w-third', () => allOnlineOn('w-third'), { timeoutMs: 15_000 });
    console.info(`hand-over of ${CAMERAS.length} cameras on SIGTERM: ${handedOverMs} ms`);
    expect(writers).toEqual([]);
    third.child.kill('SIGTERM');
    await third.exited;
  });

  it('a worker cut off from Redis stops its ffmpeg before another takes its cameras, and keeps off them', async () => {
    const proxy = await startPartitionProxy(inject('redisUrl'));
    try {
      const cutOff = runCli(
        ['worker'],
        workerEnv(relay, inject('redisUrl'), { WORKER_ID: 'w-cut', REDIS_URL: proxy.url }),
      );
      await cutOff.url;
      await register();
      await waitFor('all online on w-cut', () => allOnlineOn('w-cut'), { timeoutMs: 30_000 });
      const other = worker('w-other');
      await other.url;

      proxy.cut();
      // Fenced at two thirds of the 3 s lease: its ffmpeg go while the lease in Redis still runs.
      await waitFor(
        'no ffmpeg left for the cameras',
        () => CAMERAS.every((id) => ffmpegWritingInto(path.join(relay.config.hlsRoot, id)).length === 0),
        { timeoutMs: 3000, intervalMs: 50 },
      );
      // The log line was written before the kills, but may reach us through the pipe after them.
      await waitFor(
        'the worker saying why',
        () =>
          cutOff.output.some((line) => line.includes('cannot renew camera leases; stopping every ffmpeg')),
        { timeoutMs: 2000, intervalMs: 50 },
      );
      await waitFor('all online on w-other', () => allOnlineOn('w-other'), { timeoutMs: 15_000 });

      proxy.heal();
      await sleep(3000);
      expect(await allOnlineOn('w-other')).toBe(true);
      for (const id of CAMERAS)
        expect(ffmpegWritingInto(path.join(relay.config.hlsRoot, id))).toHaveLength(1);
      expect(writers).toEqual([]);
      expect(cutOff.child.exitCode).toBeNull();
      for (const run of [cutOff, other]) run.child.kill('SIGTERM');
      expect(await cutOff.exited).toEqual({ code: 0, signal: null });
      await other.exited;
    } finally {
      await proxy.close();
    }
  });
});

describe('on-demand cameras and a relay on another host', () => {
  let relay: TestCamrelay;
  let cameras: RtspCameras;
  let worker: CliRun;
  let workerHls: string;

  beforeAll(async () => {
    // The relay has an HLS folder of its own, empty: it can only serve what it fetches from the worker.
    relay = await startTestCamrelay('relay', { ON_DEMAND_IDLE_SEC: '5' });
    cameras = await startRtspCameras({
      mounts: [
        { name: 'p', kind: 'h264' },
        { name: 'q', kind: 'h264' },
      ],
    });
    workerHls = await mkdtemp(path.join(tmpdir(), 'camrelay-worker-hls-'));
    worker = runCli(
      ['worker'],
      workerEnv(relay, inject('redisUrl'), {
        WORKER_ID: 'w-far',
        HLS_ROOT: workerHls,
        ON_DEMAND_IDLE_SEC: '5',
      }),
    );
    await worker.url;
  });
  afterAll(async () => {
    killAll();
    await relay?.close();
    await cameras?.stop();
    if (workerHls) await rm(workerHls, { recursive: true, force: true });
  });

  const workerMetric = async (name: string) => {
    const url = await worker.url;
    // A token from Redis: the worker knows no bootstrap token, only what every process shares.
    const { token } = await relay.tokens.create({ name: 'metrics reader', role: 'operator' }, 'test');
    const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  };

  it('starts an on-demand camera on the first playlist request, answers it, and stops it once idle', async () => {
    await relay.api('/api/v1/cameras', {
      method: 'POST',
      json: { id: 'od', name: 'od', url: cameras.url('p'), mode: 'on-demand' },
    });
    expect((await (await relay.api('/api/v1/cameras/od/health')).json()).status).toBe('idle');
    await sleep(1000);
    expect(ffmpegWritingInto(path.join(workerHls, 'od'))).toEqual([]);

    const startedAt = Date.now();
    const first = await relay.hls('od', 'index.m3u8');
    expect(first.status).toBe(200);
    const playlist = parseMediaPlaylist(await first.text());
    expect(playlist?.segments.length).toBeGreaterThanOrEqual(1);
    console.info(`on-demand first playlist after ${Date.now() - startedAt} ms`);
    expect(ffmpegWritingInto(path.join(workerHls, 'od'))).toHaveLength(1);

    await waitFor(
      'idle again',
      async () => (await (await relay.api('/api/v1/cameras/od/health')).json()).status === 'idle',
      {
        timeoutMs: 20_000,
      },
    );
    expect(ffmpegWritingInto(path.join(workerHls, 'od'))).toEqual([]);
  });

  it('serves a camera from the worker that ingests it: 20 viewers, one upstream fetch per segment', async () => {
    await relay.api('/api/v1/cameras', {
      method: 'POST',
      json: { id: 'far', name: 'far', url: cameras.url('q') },
    });
    await waitFor(
      'far online',
      async () => (await (await relay.api('/api/v1/cameras/far/health')).json()).status === 'online',
    );
    const segmentsBefore = await workerMetric('camrelay_hls_requests_total\\{kind="segment"\\}');
    const seen = new Set<string>();
    const statuses: number[] = [];
    // Each viewer does what hls.js does: reload the playlist, fetch the newest segment it has not had.
    const viewer = async () => {
      const had = new Set<string>();
      for (let round = 0; round < 6; round++) {
        const response = await relay.hls('far', 'index.m3u8');
        statuses.push(response.status);
        const newest = parseMediaPlaylist(await response.text())?.segments.at(-1);
        if (newest && !had.has(newest.uri)) {
          had.add(newest.uri);
          seen.add(newest.uri.replace(/\?.*$/, ''));
          const segment = await relay.hls('far', newest.uri);
          statuses.push(segment.status);
          expect((await segment.arrayBuffer()).byteLength).toBeGreaterThan(1000);
        }
        await sleep(500);
      }
    };
    await Promise.all(Array.from({ length: 20 }, viewer));
    expect(statuses.every((status) => status === 200)).toBe(true);
    const upstream = (await workerMetric('camrelay_hls_requests_total\\{kind="segment"\\}')) - segmentsBefore;
    expect(seen.size).toBeGreaterThan(1);
    expect(upstream).toBe(seen.size);
    expect(ffmpegWritingInto(path.join(relay.config.hlsRoot, 'far'))).toEqual([]);
  });
});
