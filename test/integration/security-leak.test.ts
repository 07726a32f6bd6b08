import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RtspCameras, startRtspCameras } from '../../src/demo/rtsp-cameras.js';
import { dumpRedis } from '../support/redis-dump.js';
import { openSse } from '../support/sse.js';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';
import { sleep, waitFor } from '../support/wait.js';

const USER = 'admin';
const PASSWORD = 'Leak!Test:Pa55@word';
const FORMS = [PASSWORD, encodeURIComponent(PASSWORD), Buffer.from(`${USER}:${PASSWORD}`).toString('base64')];

/**
 * A full run with a password-protected camera (and one given a wrong password, whose failures ffmpeg
 * reports with the URL in them), every API answer collected, then the log, the answers and every Redis
 * value searched for the password in clear, URL-encoded, or as an HTTP Basic credential.
 */
describe('credential leak scan', () => {
  let camrelay: TestCamrelay;
  let cameras: RtspCameras;
  const answers: string[] = [];

  beforeAll(async () => {
    cameras = await startRtspCameras({
      mounts: [{ name: 'secret-cam', kind: 'h264+pcma' }],
      user: USER,
      password: PASSWORD,
    });
    camrelay = await startTestCamrelay('all', { WARNING_SUMMARY_INTERVAL_MS: '1000' });
  });
  afterAll(async () => {
    await camrelay?.close();
    await cameras?.stop();
  });

  async function call(pathname: string, init: Parameters<TestCamrelay['api']>[1] = {}) {
    const response = await camrelay.api(pathname, init);
    const text = await response.text();
    answers.push(`${pathname} ${response.status} ${JSON.stringify([...response.headers])} ${text}`);
    return text;
  }

  it('finds the password nowhere: not in logs, answers, metrics, events, audit or Redis', async () => {
    const good = cameras.url('secret-cam', { user: USER, password: PASSWORD });
    const bad = cameras.url('secret-cam', { user: USER, password: `${PASSWORD}-wrong` });
    await call('/api/v1/cameras', { method: 'POST', json: { id: 'secret', name: 'Secret', url: good } });
    await call('/api/v1/cameras', { method: 'POST', json: { id: 'wrong', name: 'Wrong', url: bad } });
    await waitFor(
      'secret online',
      async () => JSON.parse(await call('/api/v1/cameras/secret/health')).status === 'online',
    );
    await waitFor(
      'wrong auth_failed',
      async () => JSON.parse(await call('/api/v1/cameras/wrong/health')).status === 'auth_failed',
    );
    await call('/api/v1/cameras/wrong', { method: 'PATCH', json: { url: good, name: 'Fixed' } });
    await waitFor(
      'wrong online',
      async () => JSON.parse(await call('/api/v1/cameras/wrong/health')).status === 'online',
    );

    const sse = await openSse(`${camrelay.url}/api/v1/events?since=0-0`, {
      authorization: `Bearer ${camrelay.adminToken}`,
    });
    await sleep(1500); // warnings summaries, heartbeats, a few segments
    sse.close();
    answers.push(...sse.events.map((e) => e.data));
    for (const path of [
      '/api/v1/cameras',
      '/api/v1/cameras/secret',
      '/api/v1/cameras/wrong',
      '/api/v1/cameras/secret/events',
      '/api/v1/cameras/wrong/events',
      '/api/v1/health',
      '/api/v1/audit',
      '/api/v1/tokens',
      '/metrics',
      '/docs/json',
    ]) {
      await call(path);
    }
    const stream = JSON.parse(await call('/api/v1/cameras/secret/stream'));
    const playlist = await (await fetch(stream.url)).text();
    answers.push(playlist);

    const redisValues = await dumpRedis(camrelay.redis, camrelay.config.redis.prefix);
    expect(redisValues.length).toBeGreaterThan(10);
    expect(redisValues.some((value) => value.includes('sealedUrl'))).toBe(true);
    expect(camrelay.logs.some((line) => line.includes('401'))).toBe(true); // the wrong password was logged, masked
    for (const [where, texts] of [
      ['log', camrelay.logs],
      ['answers', answers],
      ['redis', redisValues],
    ] as const) {
      for (const text of texts)
        for (const form of FORMS) expect(text, `${where}: ${form}`).not.toContain(form);
    }
  });
});
