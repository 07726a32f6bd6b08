import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RtspCameras, startRtspCameras } from '../../src/demo/rtsp-cameras.js';
import { FAST_HEALTH, killAll, runCli } from '../support/cli.js';
import { ffmpegWritingInto, processTable } from '../support/processes.js';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';
import { waitFor } from '../support/wait.js';

/** Cameras live on 127.0.0.2 only: everything else this host reaches (Redis, the relay) is "another network". */
const CAMERA_NET = '127.0.0.2/32';

const HOSTILE_URLS = [
  'file:///etc/passwd',
  'concat:rtsp://127.0.0.2/a|file:///etc/passwd',
  'subfile:,start,0,end,0,:/etc/passwd',
  'data:text/plain;base64,SGVsbG8=',
  'pipe:0',
  '/etc/passwd',
  '-i /etc/passwd',
  '-f',
  'rtsp://127.0.0.2/a -vf drawtext',
  'rtsp://127.0.0.2/a\n-i file:///etc/passwd',
  'gopher://127.0.0.1:6379/_FLUSHALL',
  'tcp://127.0.0.1:6379',
  'udp://127.0.0.1:1234',
  'hls+http://127.0.0.2/x.m3u8',
  'crypto:rtsp://127.0.0.2/a',
  'http://127.0.0.2/snapshot.cgi',
  'rtsp://169.254.169.254/latest/meta-data',
  'rtsp://127.0.0.1:6379/',
  'rtsp://localhost/x',
  'rtmp://[::1]/live/x',
  'srt://127.0.0.1:9000',
  'rtsp://',
  `rtsp://127.0.0.2/${'a'.repeat(3000)}`,
];
const HOSTILE_IDS = [
  '../x',
  'UPPER',
  'a/b',
  '-x',
  '',
  'a'.repeat(65),
  'x;rm -rf',
  'x y',
  '%2e%2e',
  'nul\u0000',
  '.hidden',
];

describe('hostile input', () => {
  let camrelay: TestCamrelay;
  let cameras: RtspCameras;

  beforeAll(async () => {
    cameras = await startRtspCameras({ host: '127.0.0.2', mounts: [{ name: 'ok', kind: 'h264' }] });
    camrelay = await startTestCamrelay('all', { CAMERA_NETWORKS: CAMERA_NET });
  });
  afterAll(async () => {
    killAll();
    await camrelay?.close();
    await cameras?.stop();
  });

  const create = (body: unknown) => camrelay.api('/api/v1/cameras', { method: 'POST', json: body });

  it(`refuses ${HOSTILE_URLS.length} hostile URLs and ${HOSTILE_IDS.length} hostile ids, and none reaches ffmpeg`, async () => {
    expect(HOSTILE_URLS.length + HOSTILE_IDS.length).toBeGreaterThanOrEqual(20);
    for (const [i, url] of HOSTILE_URLS.entries()) {
      const response = await create({ id: `hostile-${i}`, name: 'x', url });
      expect(response.status, url).toBe(400);
      const body = await response.json();
      expect(
        body.fields.map((f: { field: string }) => f.field),
        url,
      ).toContain('body.url');
    }
    for (const id of HOSTILE_IDS) {
      const response = await create({ id, name: 'x', url: cameras.url('ok') });
      expect(response.status, JSON.stringify(id)).toBe(400);
    }
    // A legitimate camera changed to a hostile URL is refused the same way and keeps its URL.
    expect((await create({ id: 'legit', name: 'Legit', url: cameras.url('ok') })).status).toBe(201);
    for (const url of HOSTILE_URLS.slice(0, 6)) {
      expect(
        (await camrelay.api('/api/v1/cameras/legit', { method: 'PATCH', json: { url } })).status,
        url,
      ).toBe(400);
    }
    await waitFor(
      'legit online',
      async () => (await (await camrelay.api('/api/v1/cameras/legit/health')).json()).status === 'online',
    );

    expect(await camrelay.redis.zcard(`${camrelay.config.redis.prefix}:cameras:index`)).toBe(1);
    const argvs = processTable()
      .filter((p) => p.argv[0]?.endsWith('ffmpeg'))
      .map((p) => p.argv.join(' '));
    // Short entries ("-f") are ordinary ffmpeg options; every hostile URL is long enough to be told apart.
    for (const url of HOSTILE_URLS.filter((u) => u.length >= 8))
      for (const argv of argvs) expect(argv).not.toContain(url);
    const [ffmpeg] = ffmpegWritingInto(`${camrelay.config.hlsRoot}/legit`);
    const argv = ffmpeg?.argv ?? [];
    // The one ffmpeg that runs: protocols limited, the URL only after -i, pinned to the checked address.
    expect(argv[argv.indexOf('-protocol_whitelist') + 1]).toBe('rtsp,rtp,srtp,udp,tcp');
    expect(argv.indexOf('-protocol_whitelist')).toBeLessThan(argv.indexOf('-i'));
    expect(argv[argv.indexOf('-i') + 1]).toBe(cameras.url('ok'));
    expect(argv.filter((arg) => arg.includes('://'))).toEqual([cameras.url('ok')]);
  });

  it('checks the network again when ffmpeg starts, so a camera admitted elsewhere cannot reach out', async () => {
    // A relay that admits any network, and a worker that allows only the camera network.
    const relay = await startTestCamrelay('relay', { CAMERA_NETWORKS: 'any' });
    const worker = runCli(['worker'], {
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: relay.config.redis.prefix,
      HLS_ROOT: relay.config.hlsRoot,
      DATA_DIR: relay.config.dataDir,
      CAMRELAY_SECRET_KEY: (relay.config.security.secretKey as Buffer).toString('hex'),
      CAMERA_NETWORKS: CAMERA_NET,
      WORKER_PORT: '0',
      ...FAST_HEALTH,
    });
    try {
      await worker.url;
      const sneaky = `rtsp://127.0.0.1:${new URL(cameras.url('ok')).port}/ok`;
      await relay.api('/api/v1/cameras', {
        method: 'POST',
        json: { id: 'sneaky', name: 'sneaky', url: sneaky },
      });
      const record = await waitFor('refused at start', async () => {
        const health = await (await relay.api('/api/v1/cameras/sneaky/health')).json();
        return health.status === 'unsupported' ? health : undefined;
      });
      expect(record.lastError).toMatch(/outside CAMERA_NETWORKS/);
      expect(ffmpegWritingInto(`${relay.config.hlsRoot}/sneaky`)).toEqual([]);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
      await relay.close();
    }
  });
});

describe('camera API under fuzzing', () => {
  let relay: TestCamrelay;

  beforeAll(async () => {
    // No worker, and any network: the fuzzer registers cameras at made-up hosts, and nothing connects to them.
    relay = await startTestCamrelay('relay', { CAMERA_NETWORKS: 'any' });
  });
  afterAll(async () => {
    await relay?.close();
  });

  const hostile = fc.constantFrom(
    ...HOSTILE_URLS,
    ...HOSTILE_IDS,
    '__proto__',
    'constructor',
    '{"$gt":""}',
    '\u202e',
  );
  const rtspUrl = fc
    .tuple(fc.domain(), fc.option(fc.integer({ min: 1, max: 65535 })), fc.webPath())
    .map(([host, port, pathname]) => `rtsp://${host}${port ? `:${port}` : ''}${pathname}`);
  const value = fc.oneof(fc.string(), hostile, fc.integer(), fc.boolean(), fc.constant(null), fc.object());
  const cameraLike = fc.record(
    {
      id: fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,20}$/), value),
      name: fc.oneof(fc.string({ minLength: 1 }), value),
      url: fc.oneof(rtspUrl, value),
      mode: fc.oneof(fc.constantFrom('always', 'on-demand'), value),
      transcode: fc.oneof(fc.constantFrom('auto', 'copy', 'h264'), value),
      rtspTransport: fc.oneof(fc.constantFrom('tcp', 'udp'), value),
      enabled: fc.oneof(fc.boolean(), value),
      extra: value,
    },
    { requiredKeys: [] },
  );
  const wellFormed = fc.record(
    {
      id: fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,20}$/),
      name: fc.string({ minLength: 1, maxLength: 50 }),
      url: rtspUrl,
      mode: fc.constantFrom('always', 'on-demand'),
      enabled: fc.boolean(),
    },
    { requiredKeys: ['name', 'url'] },
  );
  const body = fc.oneof(wellFormed, cameraLike, fc.anything(), fc.jsonValue());

  it('never answers 500, and leaves the registry consistent', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('POST', 'PATCH'), async (json, method) => {
        const path = method === 'POST' ? '/api/v1/cameras' : '/api/v1/cameras/fuzz-target';
        if (method === 'PATCH') {
          await relay.api('/api/v1/cameras', {
            method: 'POST',
            json: { id: 'fuzz-target', name: 't', url: 'rtsp://h.example/x' },
          });
        }
        const response = await relay.api(path, { method, json });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status, JSON.stringify(json)).toBeLessThan(500);
        const answer = await response.json();
        if (response.status >= 400) expect(answer.code).toMatch(/^(CAMRELAY|FST)_ERR_/);
      }),
      { numRuns: 300 },
    );
    expect(statuses.get(201) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);

    const prefix = relay.config.redis.prefix;
    const indexed = await relay.redis.zrange(`${prefix}:cameras:index`, 0, -1);
    const stored = await relay.redis.hkeys(`${prefix}:cameras`);
    expect([...indexed].sort()).toEqual([...stored].sort());
    for (const json of await relay.redis.hvals(`${prefix}:cameras`)) {
      const camera = JSON.parse(json);
      expect(camera.id).toMatch(/^[a-z0-9][a-z0-9_-]{0,63}$/);
      expect(camera.sealedUrl).toMatch(/^v1\./);
      expect(['always', 'on-demand']).toContain(camera.mode);
      expect(typeof camera.enabled).toBe('boolean');
    }
    const summary = await (await relay.api('/api/v1/health')).json();
    expect(summary.total).toBe(indexed.length);
    expect(summary.byStatus.unknown).toBe(0);
  });
});
