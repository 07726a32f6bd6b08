import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RtspCameras, startRtspCameras } from '../../src/demo/rtsp-cameras.js';
import { openSse, type SseClient } from '../support/sse.js';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';
import { waitFor } from '../support/wait.js';

interface Event {
  id: string;
  cameraId: string;
  from: string | null;
  to: string;
  reason: string | null;
}

/** What an operator's tools see: status events live and resumable, per-camera history, Prometheus metrics. */
describe('status events and metrics', () => {
  let camrelay: TestCamrelay;
  let cameras: RtspCameras;
  const clients: SseClient[] = [];

  beforeAll(async () => {
    cameras = await startRtspCameras({
      mounts: [
        { name: 'm1', kind: 'h264' },
        { name: 'm2', kind: 'h264' },
      ],
    });
    camrelay = await startTestCamrelay('all', { WARNING_SUMMARY_INTERVAL_MS: '2000' });
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await camrelay?.close();
    await cameras?.stop();
  });

  async function sse(query = '', headers: Record<string, string> = {}) {
    const auth = { authorization: `Bearer ${camrelay.adminToken}` };
    const client = await openSse(`${camrelay.url}/api/v1/events${query}`, { ...auth, ...headers });
    clients.push(client);
    return client;
  }
  const statusEvents = (client: SseClient): Event[] =>
    client.events.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data) as Event);
  const health = async (id: string) => (await camrelay.api(`/api/v1/cameras/${id}/health`)).json();

  it('streams status changes live, resumes after a disconnect without loss or repeats, and keeps history', async () => {
    const live = await sse();
    expect(live.status).toBe(200);
    expect(live.contentType).toMatch(/^text\/event-stream/);
    const onlyM2 = await sse('?cameras=cam-m2');
    await camrelay.api('/api/v1/cameras', {
      method: 'POST',
      json: { id: 'cam-m1', name: 'm1', url: cameras.url('m1') },
    });
    await waitFor('online event', () =>
      statusEvents(live).some((e) => e.cameraId === 'cam-m1' && e.to === 'online'),
    );
    const seen = statusEvents(live).filter((e) => e.cameraId === 'cam-m1');
    expect(seen.map((e) => e.to)).toEqual(['starting', 'online']);
    expect(seen[0]).toMatchObject({ from: null, reason: 'waiting for a worker' });
    expect(seen.every((e, i) => i === 0 || (seen[i - 1] as Event).id < e.id)).toBe(true);
    expect(statusEvents(onlyM2)).toEqual([]);

    const lastId = live.events.at(-1)?.id as string;
    live.close();
    await cameras.pause('m1');
    await waitFor('stalled', async () => (await health('cam-m1')).status === 'stalled');
    await cameras.resume('m1');
    await waitFor('online again', async () => (await health('cam-m1')).status === 'online', {
      timeoutMs: 30_000,
    });

    const resumed = await sse('', { 'last-event-id': lastId });
    await waitFor('missed events replayed', () => statusEvents(resumed).some((e) => e.to === 'online'));
    const replayed = statusEvents(resumed);
    expect(replayed[0]).toMatchObject({ cameraId: 'cam-m1', from: 'online', to: 'stalled' });
    expect(new Set(replayed.map((e) => e.id)).size).toBe(replayed.length);
    expect(replayed.every((e) => e.id > lastId)).toBe(true);

    const history = await (await camrelay.api('/api/v1/cameras/cam-m1/events?limit=50')).json();
    const ids = history.items.map((e: Event) => e.id);
    expect(ids).toEqual([...ids].sort().reverse());
    expect(history.items.map((e: Event) => e.id)).toEqual(expect.arrayContaining(replayed.map((e) => e.id)));
    expect((await camrelay.api('/api/v1/events?since=not-an-id')).status).toBe(400);
    expect((await camrelay.api('/api/v1/cameras/nope/events')).status).toBe(404);
  });

  it('exports per-camera and deployment metrics for Prometheus, labelled by camera id only', async () => {
    await camrelay.api('/api/v1/cameras', {
      method: 'POST',
      json: {
        id: 'cam-m2',
        name: 'm2',
        url: cameras.url('m2', { user: 'viewer', password: 'Metrics-Secret-7' }),
      },
    });
    await waitFor('m2 online', async () => (await health('cam-m2')).status === 'online');
    const text = await waitFor('fps in metrics', async () => {
      const body = await (await camrelay.api('/metrics')).text();
      return /camrelay_camera_fps\{camera="cam-m2"\} [1-9]/.test(body) ? body : undefined;
    });
    expect(text).toContain('camrelay_camera_status{camera="cam-m2",status="online"} 1');
    expect(text).toMatch(/camrelay_camera_bitrate_bits_per_second\{camera="cam-m2"\} \d+/);
    expect(text).toMatch(/camrelay_camera_segment_age_seconds\{camera="cam-m2"\} \d/);
    expect(text).toMatch(/camrelay_camera_restarts_total\{camera="cam-m1"\} [1-9]/);
    expect(text).toMatch(/camrelay_ffmpeg_warnings_total\{camera="cam-m2",kind="[a-z_]+"\} [1-9]/);
    expect(text).toMatch(
      new RegExp(`camrelay_worker_active_ingests\\{worker="${camrelay.config.worker.id}"\\} 2`),
    );
    expect(text).toContain('camrelay_cameras{status="online"} 2');
    expect(text).toContain('camrelay_workers_live 1');
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).not.toMatch(/rtsp:|Metrics-Secret-7/);
  });

  it('summarises ffmpeg warnings in the log once per interval instead of a line each', async () => {
    const summary = await waitFor('a warnings summary', () =>
      camrelay.logs
        .map((line) => JSON.parse(line))
        .find((entry) => entry.msg === 'ffmpeg warnings' && entry.cameraId === 'cam-m2'),
    );
    expect(Object.values(summary.warnings as Record<string, number>).every((n) => n > 0)).toBe(true);
    expect(camrelay.logs.filter((line) => /Timestamps are unset|Non-monotonous DTS/.test(line))).toEqual([]);
  });
});
