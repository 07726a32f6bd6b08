import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Camera } from '../../src/cameras/camera.js';
import { cameraCreateSchema, toCameraView } from '../../src/cameras/camera.js';
import { loadConfig } from '../../src/config/load.js';
import { type AdmitVerdict, IngestSupervisor, type StatusChange } from '../../src/ingest/supervisor.js';
import { createLogger } from '../../src/log.js';
import { generatePublishKey, hashPublishKey, publishKeyMatches } from '../../src/push/publish-key.js';
import { publishBase, publishUrl, pullUrl } from '../../src/push/publish-url.js';
import { PULL_TOKEN_TTL_MS, PullTokens } from '../../src/push/pull-token.js';
import { refusalFor } from '../../src/push/push-server.js';
import { sleep, waitFor } from '../support/wait.js';

describe('publish keys', () => {
  it('are 32 random bytes that fit a URL, and match only their own hash', () => {
    const key = generatePublishKey();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generatePublishKey()).not.toBe(key);
    const hash = hashPublishKey(key);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(publishKeyMatches(key, hash)).toBe(true);
    expect(publishKeyMatches(generatePublishKey(), hash)).toBe(false);
    expect(publishKeyMatches(`${key.slice(0, -1)}A`, hash)).toBe(key.endsWith('A'));
    for (const bad of [undefined, '', ['a', 'b'], `${key}x`, key.slice(1)])
      expect(publishKeyMatches(bad, hash)).toBe(false);
    expect(publishKeyMatches(key, undefined)).toBe(false);
  });
});

describe('pull tokens', () => {
  const tokens = new PullTokens(randomBytes(32));
  const nowMs = 1_800_000_000_000;

  it('open one camera until they expire', () => {
    const token = tokens.sign('cam-1', nowMs);
    expect(tokens.verify('cam-1', token, nowMs)).toBe(true);
    expect(tokens.verify('cam-1', token, nowMs + PULL_TOKEN_TTL_MS - 1000)).toBe(true);
    expect(tokens.verify('cam-1', token, nowMs + PULL_TOKEN_TTL_MS + 1000)).toBe(false);
    expect(tokens.verify('cam-2', token, nowMs)).toBe(false);
  });

  it('cannot be forged: a later expiry, another key, or garbage fail', () => {
    const token = tokens.sign('cam-1', nowMs);
    const [expiry, mac] = token.split('.') as [string, string];
    expect(tokens.verify('cam-1', `${Number(expiry) + 3600}.${mac}`, nowMs)).toBe(false);
    expect(new PullTokens(randomBytes(32)).verify('cam-1', token, nowMs)).toBe(false);
    for (const bad of [undefined, '', 'x.y', `${expiry}`, ['a'], `${expiry}.${mac}x`])
      expect(tokens.verify('cam-1', bad, nowMs)).toBe(false);
  });
});

describe('publish and pull URLs', () => {
  it('use RTMP_PUBLIC_URL, or the host the API was called by and the RTMP port', () => {
    expect(publishBase(undefined, 'relay.example.org', 1935)).toBe('rtmp://relay.example.org:1935');
    expect(publishBase(undefined, '::1', 1935)).toBe('rtmp://[::1]:1935');
    expect(publishBase('rtmps://push.example.org:443', 'relay', 1935)).toBe('rtmps://push.example.org:443');
    expect(publishUrl('rtmp://h:1935', 'cam-1', 'K')).toBe('rtmp://h:1935/live/cam-1?key=K');
    expect(pullUrl('rtmp://10.0.0.9:1935', 'cam-1', 'T')).toBe('rtmp://10.0.0.9:1935/live/cam-1?token=T');
  });
});

describe('push camera records', () => {
  const key = generatePublishKey();
  const camera: Camera = {
    id: 'cam-1',
    name: 'Body cam',
    source: 'push',
    publishKeyHash: hashPublishKey(key),
    mode: 'always',
    transcode: 'auto',
    rtspTransport: 'tcp',
    enabled: true,
    createdAt: '2026-11-26T00:00:00.000Z',
    updatedAt: '2026-11-26T00:00:00.000Z',
    revision: 1,
  };

  it('admit only the right key for an enabled push camera', () => {
    expect(refusalFor(camera, key)).toBeNull();
    expect(refusalFor(null, key)).toBe('unknown_camera');
    expect(refusalFor({ ...camera, enabled: false }, key)).toBe('disabled');
    expect(refusalFor({ ...camera, source: 'pull', publishKeyHash: undefined }, key)).toBe('not_push');
    expect(refusalFor({ ...camera, source: undefined }, key)).toBe('not_push');
    expect(refusalFor(camera, undefined)).toBe('no_key');
    expect(refusalFor(camera, '')).toBe('no_key');
    expect(refusalFor(camera, generatePublishKey())).toBe('wrong_key');
  });

  it('show no URL and no key hash', () => {
    const view = toCameraView(camera);
    expect(view).toMatchObject({ source: 'push', url: null });
    expect(JSON.stringify(view)).not.toContain(camera.publishKeyHash as string);
  });

  it('are created without a URL; pull cameras need one', () => {
    expect(cameraCreateSchema.safeParse({ name: 'a', source: 'push' }).success).toBe(true);
    const paths = (body: unknown) =>
      cameraCreateSchema.safeParse(body).error?.issues.map((issue) => issue.path.join('.'));
    expect(paths({ name: 'a', source: 'push', url: 'rtsp://h/x' })).toEqual(['url']);
    expect(paths({ name: 'a' })).toEqual(['url']);
    expect(paths({ name: 'a', source: 'sideways' })).toEqual(['source']);
  });
});

describe('push settings', () => {
  const errorOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return '';
    } catch (err) {
      return (err as Error).message;
    }
  };

  it('name the key and the reason when wrong', () => {
    expect(errorOf({ RTMP_PORT: 'x' })).toMatch(/RTMP_PORT: must be a number/);
    expect(errorOf({ RTMP_SERVER: 'yes' })).toMatch(/RTMP_SERVER: must be on or off/);
    expect(errorOf({ RTMP_PUBLIC_URL: 'http://h:1935' })).toMatch(/RTMP_PUBLIC_URL: must be rtmp/);
    expect(errorOf({ RTMP_ADVERTISE_URL: 'rtmp://h:1935/live' })).toMatch(/RTMP_ADVERTISE_URL: must be rtmp/);
    expect(errorOf({ RTMPS_CERT_FILE: '/c.pem' })).toMatch(
      /RTMPS_KEY_FILE: RTMPS_CERT_FILE and RTMPS_KEY_FILE go together/,
    );
  });

  it('default to RTMP on 1935 at HOST, RTMPS only with a certificate', () => {
    const { push } = loadConfig({ HOST: '0.0.0.0' });
    expect(push).toMatchObject({ host: '0.0.0.0', port: 1935, rtmps: null, server: undefined });
    const tls = loadConfig({ RTMPS_CERT_FILE: '/c.pem', RTMPS_KEY_FILE: '/k.pem', RTMPS_PORT: '443' }).push;
    expect(tls.rtmps).toEqual({ port: 443, certFile: '/c.pem', keyFile: '/k.pem' });
  });
});

describe('a supervisor whose source is not there yet', () => {
  it('reads offline once, keeps the latest reason without more events, and retries at once when asked', async () => {
    let answer: AdmitVerdict = { ok: false, status: 'offline', reason: 'no publisher (1)' };
    const admitted: number[] = [];
    const supervisor = new IngestSupervisor(
      { url: 'push:cam-1', transcode: 'auto', rtspTransport: 'tcp' },
      '/nonexistent/never-written',
      {
        ioTimeoutMs: 1000,
        stopGraceMs: 100,
        staleTimeoutMs: 1000,
        segmentDurationSec: 1,
        listSize: 3,
        partDurationMs: 200,
        writeDisk: false,
      },
      createLogger('silent'),
      null,
      async () => {
        admitted.push(Date.now());
        return answer;
      },
    );
    const changes: StatusChange[] = [];
    supervisor.on('status', (change) => changes.push(change));
    supervisor.start();
    // Backoff doubles from 0.5 s; after four refusals the next wait is 2 s or more.
    await waitFor('four refusals', () => admitted.length >= 4, { timeoutMs: 10_000, intervalMs: 20 });
    answer = { ok: false, status: 'offline', reason: 'no publisher (2)' };
    expect(changes.map((c) => c.to)).toEqual(['starting', 'offline']);
    const asked = admitted.length;
    await sleep(50);
    const retryAtMs = Date.now();
    supervisor.retryNow();
    await waitFor('a retry', () => admitted.length > asked, { timeoutMs: 5000, intervalMs: 5 });
    expect((admitted.at(-1) as number) - retryAtMs).toBeLessThan(200);
    expect(supervisor.snapshot()).toMatchObject({ status: 'offline', lastError: 'no publisher (2)' });
    expect(changes.map((c) => c.to)).toEqual(['starting', 'offline']);
    await supervisor.stop();
    expect(changes.at(-1)?.to).toBe('stopped');
  });
});
