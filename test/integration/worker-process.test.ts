import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RtspCameras, startRtspCameras } from '../../src/demo/rtsp-cameras.js';
import { type CliRun, FAST_HEALTH, killAll, runCli, workerEnv } from '../support/cli.js';
import { ffmpegWritingInto, isAlive, processTable } from '../support/processes.js';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';
import { waitFor } from '../support/wait.js';

/**
 * Worker processes dying, as process-table facts: a relay in this process, `camrelay worker` as a
 * separate process on the same Redis prefix and HLS folder, killed or stopped.
 */
describe('worker process lifecycle', () => {
  let relay: TestCamrelay;
  let cameras: RtspCameras;

  beforeAll(async () => {
    relay = await startTestCamrelay('relay', FAST_HEALTH);
    cameras = await startRtspCameras({
      mounts: [
        { name: 'yard', kind: 'h264' },
        { name: 'dock', kind: 'h264' },
      ],
    });
  });
  afterAll(async () => {
    killAll();
    await relay?.close();
    await cameras?.stop();
  });

  function startWorker(name: string): CliRun {
    return runCli(['worker'], workerEnv(relay, inject('redisUrl'), { WORKER_ID: name }));
  }

  const health = async (id: string) => (await relay.api(`/api/v1/cameras/${id}/health`)).json();
  const dirOf = (id: string) => path.join(relay.config.hlsRoot, id);

  async function register(id: string) {
    const response = await relay.api('/api/v1/cameras', {
      method: 'POST',
      json: { id, name: id, url: cameras.url(id) },
    });
    expect(response.status).toBe(201);
  }

  it('SIGKILL: its ffmpeg die with it, the camera is not online 10 s later, and a new worker takes it over', async () => {
    const worker = startWorker('w-killed');
    await worker.url;
    await register('yard');
    await waitFor('yard online', async () => (await health('yard')).status === 'online');
    const [ffmpeg] = ffmpegWritingInto(dirOf('yard'));
    expect(ffmpeg?.ppid).toBe(worker.child.pid);

    worker.child.kill('SIGKILL');
    await worker.exited;
    await waitFor('ffmpeg gone', () => !isAlive(ffmpeg?.pid as number), { timeoutMs: 2000 });
    expect(ffmpegWritingInto(relay.config.hlsRoot)).toEqual([]);
    const after = await waitFor(
      'not online',
      async () => {
        const record = await health('yard');
        return record.status !== 'online' ? record : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(after.status).toBe('offline');
    expect(after.lastError).toMatch(/w-killed/);

    const next = startWorker('w-next');
    await next.url;
    await waitFor(
      'yard online on the new worker',
      async () => {
        const record = await health('yard');
        return record.status === 'online' && record.workerId === 'w-next';
      },
      { timeoutMs: 30_000 },
    );
    expect(ffmpegWritingInto(dirOf('yard'))).toHaveLength(1);
    next.child.kill('SIGTERM');
    expect(await next.exited).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM: exits cleanly within seconds, stops its ffmpeg, and hands the camera back', async () => {
    const worker = startWorker('w-stopped');
    await worker.url;
    await register('dock');
    await waitFor(
      'dock online on w-stopped',
      async () => {
        const record = await health('dock');
        return record.status === 'online' && record.workerId === 'w-stopped';
      },
      { timeoutMs: 30_000 },
    );
    const [ffmpeg] = ffmpegWritingInto(dirOf('dock'));

    const stoppingAt = Date.now();
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppingAt).toBeLessThan(10_000);
    expect(isAlive(ffmpeg?.pid as number)).toBe(false);
    expect(ffmpegWritingInto(relay.config.hlsRoot)).toEqual([]);
    const record = await health('dock');
    expect(record).toMatchObject({ status: 'offline', workerId: null });
    expect(record.lastError).toMatch(/w-stopped handed it back/);
    expect(worker.output.join('\n')).toMatch(/ingest worker stopped/);
  });

  it('a starting worker kills orphaned ffmpeg writing into its HLS folders, and no other', async () => {
    const dir = dirOf('orphaned');
    await mkdir(dir, { recursive: true });
    // setsid --fork: the parent exits at once, so this ffmpeg belongs to nobody, as after a crash.
    spawn(
      'setsid',
      [
        '--fork',
        'ffmpeg',
        '-nostdin',
        '-loglevel',
        'quiet',
        '-re',
        '-f',
        'lavfi',
        '-i',
        'testsrc=size=160x90:rate=5',
        '-f',
        'hls',
        '-hls_time',
        '1',
        path.join(dir, 'index.m3u8'),
      ],
      { stdio: 'ignore' },
    );
    const orphan = await waitFor('the orphan running', () => ffmpegWritingInto(dir)[0]);
    expect(processTable().find((p) => p.pid === orphan.ppid)?.argv[0]).not.toMatch(/node$/);

    const worker = startWorker('w-sweeper');
    await worker.url;
    await waitFor('orphan killed', () => !isAlive(orphan.pid), { timeoutMs: 5000 });
    expect(worker.output.join('\n')).toMatch(/killed an orphaned ffmpeg/);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
  });
});
