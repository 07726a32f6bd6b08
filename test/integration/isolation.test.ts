import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RtspCameras, startRtspCameras } from '../../src/demo/rtsp-cameras.js';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';
import { sleep, waitFor } from '../support/wait.js';

const STEADY = 49;
const FLAPS = 5;

/**
 * One camera failing must not disturb any other: 49 cameras (each its own ffmpeg and RTSP session, on
 * two shared camera mounts) stay online, sampled every half second, while a 50th camera's server is
 * killed and restarted again and again.
 */
describe('fault isolation', () => {
  let camrelay: TestCamrelay;
  let steady: RtspCameras;
  let flapping: RtspCameras | null = null;

  beforeAll(async () => {
    steady = await startRtspCameras({
      mounts: [
        { name: 'a', kind: 'h264' },
        { name: 'b', kind: 'h264' },
      ],
    });
    flapping = await startRtspCameras({ mounts: [{ name: 'flap', kind: 'h264' }] });
    camrelay = await startTestCamrelay('all');
  });
  afterAll(async () => {
    await camrelay?.close();
    await steady?.stop();
    await flapping?.stop();
  });

  it(`${STEADY} cameras never leave online while a 50th flaps`, async () => {
    const ids = Array.from({ length: STEADY }, (_, i) => `steady-${String(i).padStart(2, '0')}`);
    for (const [i, id] of ids.entries()) {
      const url = steady.url(i % 2 ? 'a' : 'b');
      await camrelay.api('/api/v1/cameras', { method: 'POST', json: { id, name: id, url } });
    }
    const flapUrl = (flapping as RtspCameras).url('flap');
    const flapPort = (flapping as RtspCameras).port;
    await camrelay.api('/api/v1/cameras', {
      method: 'POST',
      json: { id: 'flapper', name: 'flapper', url: flapUrl },
    });
    const statuses = async () => {
      const records = await Promise.all(
        [...ids, 'flapper'].map(async (id) => (await camrelay.api(`/api/v1/cameras/${id}/health`)).json()),
      );
      return new Map(records.map((r) => [r.cameraId as string, r.status as string]));
    };
    await waitFor(
      'all 50 online',
      async () => [...(await statuses()).values()].every((s) => s === 'online'),
      {
        timeoutMs: 45_000,
        intervalMs: 500,
      },
    );
    const eventsBefore = await camrelay.redis.xlen(`${camrelay.config.redis.prefix}:events`);

    const off: string[] = [];
    const flapperSeen = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const now = await statuses();
        for (const id of ids) if (now.get(id) !== 'online') off.push(`${id}: ${now.get(id)}`);
        flapperSeen.add(now.get('flapper') ?? 'none');
        await sleep(500);
      }
    })();
    for (let i = 0; i < FLAPS; i++) {
      await flapping?.stop();
      await sleep(2000);
      flapping = await startRtspCameras({ port: flapPort, mounts: [{ name: 'flap', kind: 'h264' }] });
      await sleep(3000);
    }
    sampling = false;
    await sampler;

    expect(off).toEqual([]);
    expect(flapperSeen).toContain('offline');
    // The event stream agrees: every change since then is the flapper's.
    const events = (await camrelay.redis.xrange(`${camrelay.config.redis.prefix}:events`, '-', '+')).slice(
      eventsBefore,
    );
    const cameras = new Set(events.map(([, fields]) => fields[fields.indexOf('camera') + 1]));
    expect([...cameras]).toEqual(['flapper']);
  });
});
