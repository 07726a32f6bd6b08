import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseMediaPlaylist } from '../../src/ingest/playlist.js';
import { selfSigned } from '../support/certs.js';
import { type CliRun, killAll, runCli, workerEnv } from '../support/cli.js';
import { segmentWithInit } from '../support/hls-media.js';
import { freePort } from '../support/ports.js';
import { ffmpegWritingInto, ffprobe } from '../support/processes.js';
import { dumpRedis } from '../support/redis-dump.js';
import { killPublishers, publishTestPattern, type RtmpPublisher } from '../support/rtmp-publisher.js';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';
import { sleep, waitFor } from '../support/wait.js';

const KEY_IN_URL = /\?key=([A-Za-z0-9_-]{43})$/;

/**
 * Push cameras on real parts: ffmpeg publishes a test pattern over RTMP to node-media-server inside
 * camrelay, the ingest pulls it back through the same ffmpeg pipeline as an RTSP camera, and the relay
 * serves the HLS. Every publish key handed out is collected, and the last test searches everything camrelay
 * said or stored for them.
 */
describe('push cameras over RTMP', () => {
  let camrelay: TestCamrelay;
  let workDir: string;
  const keys: string[] = [];
  const answers: string[] = [];

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'camrelay-push-'));
    camrelay = await startTestCamrelay('all', { RTMP_SERVER: 'on', STALE_TIMEOUT_MS: '2000' });
  });
  afterAll(async () => {
    killPublishers();
    await camrelay?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  /** Every API answer goes into `answers`, for the leak scan at the end. */
  async function call(pathname: string, init: Parameters<TestCamrelay['api']>[1] = {}) {
    const response = await camrelay.api(pathname, init);
    const text = await response.text();
    answers.push(text);
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  async function createPushCamera(id: string, extra: Record<string, unknown> = {}): Promise<string> {
    const { status, body } = await call('/api/v1/cameras', {
      method: 'POST',
      json: { id, name: `Push ${id}`, source: 'push', ...extra },
    });
    expect(status).toBe(201);
    const port = camrelay.push?.rtmpPort;
    expect(body.publishUrl).toMatch(new RegExp(`^rtmp://127\\.0\\.0\\.1:${port}/live/${id}\\?key=`));
    keys.push(keyOf(body.publishUrl));
    return body.publishUrl;
  }

  const health = async (id: string) => (await call(`/api/v1/cameras/${id}/health`)).body;
  const untilStatus = (id: string, status: string, timeoutMs = 20_000) =>
    waitFor(`${id} ${status}`, async () => ((await health(id)).status === status ? true : undefined), {
      timeoutMs,
      intervalMs: 100,
    });
  const refusals = () => camrelay.logs.filter((line) => line.includes('RTMP client refused'));

  it('creates a push camera: the publish URL comes once, only a hash of its key is stored', async () => {
    const publishUrl = await createPushCamera('push-main');
    const key = keyOf(publishUrl);
    const { body: view } = await call('/api/v1/cameras/push-main');
    expect(view).toMatchObject({ id: 'push-main', source: 'push', url: null });
    expect(view.publishUrl).toBeUndefined();
    const stored = JSON.parse(
      (await camrelay.redis.hget(`${camrelay.config.redis.prefix}:cameras`, 'push-main')) ?? '{}',
    );
    expect(stored.publishKeyHash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(JSON.stringify(stored)).not.toContain(key);

    const withUrl = await call('/api/v1/cameras', {
      method: 'POST',
      json: { name: 'x', source: 'push', url: 'rtsp://127.0.0.1/x' },
    });
    expect(withUrl.status).toBe(400);
    expect(withUrl.body.fields).toEqual([expect.objectContaining({ field: 'body.url' })]);
    const pullWithoutUrl = await call('/api/v1/cameras', { method: 'POST', json: { name: 'x' } });
    expect(pullWithoutUrl.status).toBe(400);
    expect(pullWithoutUrl.body.fields).toEqual([expect.objectContaining({ field: 'body.url' })]);
    const patchUrl = await call('/api/v1/cameras/push-main', {
      method: 'PATCH',
      json: { url: 'rtsp://127.0.0.1/x' },
    });
    expect(patchUrl.status).toBe(400);
    expect(patchUrl.body.fields).toEqual([expect.objectContaining({ field: 'body.url' })]);
  });

  let publisher: RtmpPublisher;

  it('ingests what ffmpeg publishes with the right key: online, and the playlist holds H.264 and AAC', async () => {
    const { body } = await call('/api/v1/cameras/push-main/publish-key', { method: 'POST' });
    keys.push(keyOf(body.publishUrl));
    const publishedAtMs = Date.now();
    publisher = publishTestPattern(body.publishUrl);
    await untilStatus('push-main', 'online');
    console.info(`push: online ${Date.now() - publishedAtMs} ms after the publisher started`);
    const playlist = await waitFor(
      'two segments',
      async () => {
        const response = await camrelay.hls('push-main', 'index.m3u8');
        const parsed = response.ok ? parseMediaPlaylist(await response.text()) : null;
        return parsed && parsed.segments.length >= 2 ? parsed : undefined;
      },
      { timeoutMs: 15_000 },
    );
    const segment = await segmentWithInit(
      (uri) => camrelay.hls('push-main', uri),
      playlist,
      playlist.segments.at(-1)?.uri as string,
    );
    const file = path.join(workDir, 'segment.mp4');
    await writeFile(file, segment.bytes);
    const streams = await ffprobe(file);
    expect(streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort()).toEqual(['audio:aac', 'video:h264']);
    expect(streams.find((s) => s.codec_type === 'video')).toMatchObject({ width: 640, height: 360 });
    // Remuxed, not transcoded: H.264 and AAC pass through as they came.
    expect(await health('push-main')).toMatchObject({
      videoMode: 'copy',
      audioMode: 'copy',
      audioCodec: 'aac',
    });
    const snapshot = await camrelay.api('/api/v1/cameras/push-main/snapshot.jpg');
    expect(snapshot.status).toBe(200);
    expect(snapshot.headers.get('content-type')).toBe('image/jpeg');
  });

  it('refuses a second publisher for the camera while the first keeps streaming', async () => {
    const firstUrl = publisher.child.spawnargs.at(-1) as string;
    const before = refusals().length;
    const second = publishTestPattern(firstUrl);
    const exit = await second.exitWithin(15_000);
    expect(exit, second.output.join('')).not.toBeNull();
    expect(exit?.code).not.toBe(0);
    expect(refusals().slice(before).join('\n')).toContain('"refusal":"already_publishing"');
    expect(publisher.child.exitCode).toBeNull();
    // The first publisher's stream goes on: new segments keep arriving and the camera stays online.
    const sequence = async () => {
      const response = await camrelay.hls('push-main', 'index.m3u8');
      return parseMediaPlaylist(await response.text())?.mediaSequence ?? -1;
    };
    const start = await sequence();
    await waitFor('the playlist to move on', async () => (await sequence()) > start + 1, {
      timeoutMs: 10_000,
    });
    expect((await health('push-main')).status).toBe('online');
  });

  it('reads stalled when a connected publisher stops sending, and recovers when it sends again', async () => {
    publisher.child.kill('SIGSTOP');
    try {
      await untilStatus('push-main', 'stalled', 10_000);
    } finally {
      publisher.child.kill('SIGCONT');
    }
    await untilStatus('push-main', 'online');
  });

  it('reads offline within 5 s of the publisher vanishing, and online again when it publishes again', async () => {
    const url = publisher.child.spawnargs.at(-1) as string;
    const stoppedAtMs = Date.now();
    await publisher.kill();
    await untilStatus('push-main', 'offline', 5000);
    const offlineAfterMs = Date.now() - stoppedAtMs;
    expect(offlineAfterMs).toBeLessThan(5000);
    // The ingest's ffmpeg is gone too, not left waiting on a silent stream.
    await waitFor(
      'no ingest ffmpeg',
      () => ffmpegWritingInto(path.join(camrelay.config.hlsRoot, 'push-main')).length === 0,
      {
        timeoutMs: 5000,
      },
    );
    const offline = await health('push-main');
    expect(offline.lastError).toMatch(/publisher|Input\/output error|ended/);
    // While it waits, nothing knocks on the push server: the worker is told when a publisher arrives.
    const connections = () => camrelay.logs.filter((line) => /RTMP session \w+ close/.test(line)).length;
    const seen = connections();
    await sleep(3000);
    expect(connections()).toBe(seen);

    const republishedAtMs = Date.now();
    publisher = publishTestPattern(url);
    await untilStatus('push-main', 'online');
    console.info(
      `push: offline ${offlineAfterMs} ms after the publisher died; online ${Date.now() - republishedAtMs} ms after it came back`,
    );
  });

  it('refuses a wrong key, no key, an unknown camera, a pull camera and a disabled camera, and ingests none', async () => {
    const good = await createPushCamera('push-idle');
    const base = good.slice(0, good.indexOf('/live/'));
    await createPushCamera('push-off', { enabled: false });
    const pull = await call('/api/v1/cameras', {
      method: 'POST',
      json: { id: 'pull-cam', name: 'pull', url: 'rtsp://127.0.0.1:9/none', enabled: false },
    });
    expect(pull.status).toBe(201);
    const offKey = keys.at(-1) as string;
    const attempts: Array<[string, string]> = [
      ['wrong_key', `${base}/live/push-idle?key=${randomBytes(32).toString('base64url')}`],
      ['no_key', `${base}/live/push-idle`],
      ['unknown_camera', `${base}/live/push-nobody?key=${keyOf(good)}`],
      ['not_push', `${base}/live/pull-cam?key=${keyOf(good)}`],
      ['disabled', `${base}/live/push-off?key=${offKey}`],
      ['bad_path', `${base}/other/push-idle?key=${keyOf(good)}`],
    ];
    for (const [refusal, url] of attempts) {
      const before = refusals().length;
      const attempt = publishTestPattern(url);
      const exit = await attempt.exitWithin(15_000);
      expect(exit?.code, refusal).toBeTypeOf('number');
      expect(exit?.code, refusal).not.toBe(0);
      expect(refusals().slice(before).join('\n'), refusal).toContain(`"refusal":"${refusal}"`);
    }
    expect((await health('push-idle')).status).toBe('offline');
    expect(ffmpegWritingInto(path.join(camrelay.config.hlsRoot, 'push-idle'))).toEqual([]);
    const prefix = camrelay.config.redis.prefix;
    expect(
      await camrelay.redis.exists(`${prefix}:push:claim:push-idle`, `${prefix}:push:claim:push-off`),
    ).toBe(0);
    const metrics = (await camrelay.api('/metrics')).text();
    for (const [refusal] of attempts)
      expect(await metrics).toMatch(new RegExp(`camrelay_push_refused_total\\{reason="${refusal}"\\} [1-9]`));
  });

  it('cuts off a publisher whose camera gets a new key or is disabled', async () => {
    const oldUrl = publisher.child.spawnargs.at(-1) as string;
    const renewedAtMs = Date.now();
    const { status, body } = await call('/api/v1/cameras/push-main/publish-key', { method: 'POST' });
    expect(status).toBe(200);
    keys.push(keyOf(body.publishUrl));
    await waitFor(
      'the old publisher to be cut off',
      () => publisher.child.exitCode !== null || publisher.child.signalCode !== null,
      { timeoutMs: 5000, intervalMs: 20 },
    );
    console.info(
      `push: the publisher with the old key was cut off ${Date.now() - renewedAtMs} ms after the new key`,
    );
    const retry = publishTestPattern(oldUrl);
    expect((await retry.exitWithin(15_000))?.code).toBeTypeOf('number');
    expect(retry.child.exitCode).not.toBe(0);

    publisher = publishTestPattern(body.publishUrl);
    await untilStatus('push-main', 'online');
    expect(
      (await call('/api/v1/cameras/push-main', { method: 'PATCH', json: { enabled: false } })).status,
    ).toBe(200);
    await waitFor(
      'the publisher of a disabled camera to be cut off',
      () => publisher.child.exitCode !== null,
      {
        timeoutMs: 5000,
      },
    );
    const notPush = await call('/api/v1/cameras/pull-cam/publish-key', { method: 'POST' });
    expect(notPush.status).toBe(409);
    expect(notPush.body.code).toBe('CAMRELAY_ERR_CAMERA_NOT_PUSH');
  });

  it('never shows a publish key after creation: not in logs, answers, events, metrics or Redis', async () => {
    expect(keys.length).toBeGreaterThanOrEqual(5);
    // The answers that created each key held it once; every later answer must not.
    const later = answers.filter((text) => !text.includes('"publishUrl"'));
    for (const id of ['push-main', 'push-idle', 'push-off']) {
      later.push(JSON.stringify((await call(`/api/v1/cameras/${id}`)).body));
      later.push(JSON.stringify((await call(`/api/v1/cameras/${id}/health`)).body));
      later.push(JSON.stringify((await call(`/api/v1/cameras/${id}/events`)).body));
    }
    later.push(JSON.stringify((await call('/api/v1/cameras?limit=1000')).body));
    later.push(JSON.stringify((await call('/api/v1/audit')).body));
    later.push(await (await camrelay.api('/metrics')).text());
    const everything = [
      ...later,
      ...camrelay.logs,
      ...(await dumpRedis(camrelay.redis, camrelay.config.redis.prefix)),
    ].join('\n');
    for (const key of keys) expect(everything).not.toContain(key);
    // The scan reads what it should: the camera ids are there, so the texts are not empty shells.
    expect(everything).toContain('push-main');
  });
});

/**
 * The documented multi-host way, each part in a process of its own: publishers reach a push host (here
 * 127.0.0.2, over RTMPS), a worker elsewhere pulls from it with a signed token, and a relay serves the HLS.
 */
describe('push role on a host of its own, with RTMPS', () => {
  const PUSH_HOST = '127.0.0.2';
  let relay: TestCamrelay;
  let dir: string;
  let pushHost: CliRun;
  let worker: CliRun;
  let rtmpPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'camrelay-push-host-'));
    const { cert, key } = await selfSigned(dir, PUSH_HOST);
    const [plainPort, rtmpsPort] = [await freePort(PUSH_HOST), await freePort(PUSH_HOST)];
    rtmpPort = plainPort;
    relay = await startTestCamrelay('relay', { RTMP_PUBLIC_URL: `rtmps://${PUSH_HOST}:${rtmpsPort}` });
    const shared = workerEnv(relay, inject('redisUrl'));
    // The push host opens no camera URLs: it needs no CAMERA_NETWORKS.
    const { CAMERA_NETWORKS: _, ...pushEnv } = shared;
    pushHost = runCli(['push'], {
      ...pushEnv,
      RTMP_HOST: PUSH_HOST,
      RTMP_PORT: String(rtmpPort),
      RTMPS_PORT: String(rtmpsPort),
      RTMPS_CERT_FILE: cert,
      RTMPS_KEY_FILE: key,
    });
    worker = runCli(['worker'], { ...shared, WORKER_ID: 'w-far' });
    await Promise.all([pushHost.url, worker.url]);
  });
  afterAll(async () => {
    killPublishers();
    killAll();
    await relay?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('takes a publisher over RTMPS on the push host; a worker on another host pulls it; the relay serves it', async () => {
    const created = await relay.api('/api/v1/cameras', {
      method: 'POST',
      json: { id: 'far-cam', name: 'Drone', source: 'push' },
    });
    expect(created.status).toBe(201);
    const { publishUrl } = await created.json();
    expect(publishUrl).toMatch(/^rtmps:\/\/127\.0\.0\.2:\d+\/live\/far-cam\?key=/);
    const publisher = publishTestPattern(publishUrl);
    await waitFor(
      'far-cam online',
      async () => (await (await relay.api('/api/v1/cameras/far-cam/health')).json()).status === 'online',
      { timeoutMs: 25_000 },
    );
    const health = await (await relay.api('/api/v1/cameras/far-cam/health')).json();
    expect(health).toMatchObject({ workerId: 'w-far', videoCodec: 'h264', audioCodec: 'aac' });
    const claim = JSON.parse(
      (await relay.redis.get(`${relay.config.redis.prefix}:push:claim:far-cam`)) ?? '{}',
    );
    expect(claim.origin).toBe(`rtmp://${PUSH_HOST}:${rtmpPort}`);
    const playlist = await waitFor('a playlist through the relay', async () => {
      const response = await relay.hls('far-cam', 'index.m3u8');
      const parsed = response.ok ? parseMediaPlaylist(await response.text()) : null;
      return parsed && parsed.segments.length >= 2 ? parsed : undefined;
    });
    expect((await relay.hls('far-cam', playlist.segments.at(-1)?.uri as string)).status).toBe(200);
    // Only workers may play from the push host: a player without a pull token is refused.
    const snoop = await playFor(`rtmp://${PUSH_HOST}:${rtmpPort}/live/far-cam`, 3000);
    expect(snoop.code).not.toBe(0);
    expect(pushHost.output.join('\n')).toContain('"refusal":"play_refused"');
    await publisher.kill();
  });
});

/** ffmpeg trying to play an RTMP URL for a while; its exit, or a kill's. */
async function playFor(url: string, ms: number): Promise<{ code: number | null }> {
  const child = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-i', url, '-t', '1', '-f', 'null', '-'],
    {
      stdio: 'ignore',
    },
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code };
}

function keyOf(publishUrl: string): string {
  const key = KEY_IN_URL.exec(publishUrl)?.[1];
  if (!key) throw new Error(`no key in ${publishUrl}`);
  return key;
}
