import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';

/** The REST contract on a real relay and a real Redis. No worker runs, so no camera is ingested here. */
describe('camera API', () => {
  let relay: TestCamrelay;

  beforeAll(async () => {
    relay = await startTestCamrelay('relay');
  });
  afterAll(async () => {
    await relay?.close();
  });

  const create = (body: unknown) => relay.api('/api/v1/cameras', { method: 'POST', json: body });

  it('creates a camera with defaults, a generated id and its password masked', async () => {
    const response = await create({ name: 'North Gate', url: 'rtsp://admin:hunter22@127.0.9.7:554/live' });
    expect(response.status).toBe(201);
    const camera = await response.json();
    expect(camera).toMatchObject({
      id: expect.stringMatching(/^north-gate-[a-z0-9]{6}$/),
      name: 'North Gate',
      url: 'rtsp://admin:***@127.0.9.7:554/live',
      mode: 'always',
      transcode: 'auto',
      rtspTransport: 'tcp',
      enabled: true,
    });
    const fetched = await (await relay.api(`/api/v1/cameras/${camera.id}`)).text();
    expect(fetched).toContain('rtsp://admin:***@127.0.9.7:554/live');
    expect(fetched).not.toContain('hunter22');
  });

  it('answers 409 for a duplicate id and keeps the first camera', async () => {
    expect((await create({ id: 'dup', name: 'First', url: 'rtsp://127.0.0.1/a' })).status).toBe(201);
    const second = await create({ id: 'dup', name: 'Second', url: 'rtsp://127.0.0.2/b' });
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ code: 'CAMRELAY_ERR_CAMERA_EXISTS', statusCode: 409 });
    expect(await (await relay.api('/api/v1/cameras/dup')).json()).toMatchObject({ name: 'First' });
  });

  it.each([
    ['body.url', { name: 'x', url: 'file:///etc/passwd' }],
    ['body.url', { name: 'x' }],
    ['body.name', { url: 'rtsp://127.0.0.1/a' }],
    ['body.id', { id: 'UPPER', name: 'x', url: 'rtsp://127.0.0.1/a' }],
    ['body.transcode', { name: 'x', url: 'rtsp://127.0.0.1/a', transcode: 'vp9' }],
    ['body.rtspTransport', { name: 'x', url: 'rtsp://127.0.0.1/a', rtspTransport: 'http' }],
    ['body.enabled', { name: 'x', url: 'rtsp://127.0.0.1/a', enabled: 'yes' }],
  ])('answers 400 naming %s', async (field, body) => {
    const response = await create(body);
    expect(response.status).toBe(400);
    const error = await response.json();
    expect(error.code).toBe('CAMRELAY_ERR_VALIDATION');
    expect(error.fields.map((f: { field: string }) => f.field)).toContain(field);
    expect(error.message).toContain(field);
  });

  it('answers 400, never 500, to broken JSON and to the wrong body type', async () => {
    const broken = await relay.api('/api/v1/cameras', {
      method: 'POST',
      body: '{"name": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(broken.status).toBe(400);
    expect((await create([1, 2, 3])).status).toBe(400);
    expect((await create(null)).status).toBe(400);
  });

  it('changes a camera with PATCH and bumps updatedAt', async () => {
    await create({ id: 'patchme', name: 'Old', url: 'rtsp://127.0.0.3/a' });
    const response = await relay.api('/api/v1/cameras/patchme', {
      method: 'PATCH',
      json: { name: 'New', url: 'rtsp://op:s3cret-pw@127.0.0.3/b', transcode: 'h264' },
    });
    expect(response.status).toBe(200);
    const camera = await response.json();
    expect(camera).toMatchObject({ name: 'New', url: 'rtsp://op:***@127.0.0.3/b', transcode: 'h264' });
    expect(camera.updatedAt >= camera.createdAt).toBe(true);
    const empty = await relay.api('/api/v1/cameras/patchme', { method: 'PATCH', json: {} });
    expect(empty.status).toBe(400);
    const missing = await relay.api('/api/v1/cameras/nope', { method: 'PATCH', json: { name: 'x' } });
    expect(missing.status).toBe(404);
  });

  it('deletes a camera: 204, then 404', async () => {
    await create({ id: 'gone', name: 'Gone', url: 'rtsp://127.0.0.4/a' });
    expect((await relay.api('/api/v1/cameras/gone', { method: 'DELETE' })).status).toBe(204);
    expect((await relay.api('/api/v1/cameras/gone')).status).toBe(404);
    expect((await relay.api('/api/v1/cameras/gone', { method: 'DELETE' })).status).toBe(404);
    expect((await relay.api('/api/v1/cameras/gone/health')).status).toBe(404);
  });

  it('answers 404 for ids that cannot exist, including traversal attempts', async () => {
    for (const id of ['..%2F..%2Fetc', 'UPPER', '%00']) {
      expect((await relay.api(`/api/v1/cameras/${id}`)).status).toBe(404);
    }
  });

  it('pages through cameras in id order with limit and cursor', async () => {
    for (const n of [1, 2, 3, 4, 5])
      await create({ id: `page-${n}`, name: `P${n}`, url: 'rtsp://127.0.0.9/x' });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `limit=2&cursor=${cursor}` : 'limit=2';
      const page = await (await relay.api(`/api/v1/cameras?${query}`)).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((c: { id: string }) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    const pageIds = seen.filter((id) => id.startsWith('page-'));
    expect(pageIds).toEqual(['page-1', 'page-2', 'page-3', 'page-4', 'page-5']);
    expect(seen).toEqual([...seen].sort());
    expect((await relay.api('/api/v1/cameras?limit=0')).status).toBe(400);
    expect((await relay.api('/api/v1/cameras?limit=5000')).status).toBe(400);
  });

  it('records a new camera as starting, then offline when no worker takes it', async () => {
    await create({ id: 'lonely', name: 'Lonely', url: 'rtsp://127.0.0.5/a' });
    const first = await (await relay.api('/api/v1/cameras/lonely/health')).json();
    expect(first).toMatchObject({ cameraId: 'lonely', status: 'starting', workerId: null });
    await new Promise((resolve) => setTimeout(resolve, relay.config.health.startWaitMs + 1500));
    const later = await (await relay.api('/api/v1/cameras/lonely/health')).json();
    expect(later).toMatchObject({ status: 'offline', lastError: 'no worker has taken this camera' });
  });

  it('keeps tags for the wall to search by, and names a bad one', async () => {
    const created = await create({
      id: 'tagged',
      name: 'Tagged',
      url: 'rtsp://127.0.0.8/a',
      tags: ['north', 'gate 2'],
    });
    expect((await created.json()).tags).toEqual(['north', 'gate 2']);
    const patched = await relay.api('/api/v1/cameras/tagged', { method: 'PATCH', json: { tags: ['south'] } });
    expect((await patched.json()).tags).toEqual(['south']);
    const bad = await create({
      id: 'bad-tag',
      name: 'Bad',
      url: 'rtsp://127.0.0.8/b',
      tags: ['ok', '<script>'],
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).fields[0].field).toBe('body.tags.1');
    const untagged = await create({ id: 'untagged', name: 'Untagged', url: 'rtsp://127.0.0.8/c' });
    expect((await untagged.json()).tags).toEqual([]);
  });

  it('answers the health of many cameras in one call, leaving out those it does not know', async () => {
    await create({ id: 'batch-1', name: 'B1', url: 'rtsp://127.0.0.7/a' });
    await create({ id: 'batch-2', name: 'B2', url: 'rtsp://127.0.0.7/b', enabled: false });
    const response = await relay.api('/api/v1/health/cameras?ids=batch-1,batch-2,batch-none,batch-1');
    expect(response.status).toBe(200);
    const { items } = await response.json();
    expect(items.map((h: { cameraId: string; status: string }) => [h.cameraId, h.status])).toEqual([
      ['batch-1', 'starting'],
      ['batch-2', 'disabled'],
    ]);
    expect((await relay.api('/api/v1/health/cameras?ids=')).status).toBe(400);
    const tooMany = Array.from({ length: 101 }, (_, i) => `c${i}`).join(',');
    expect((await relay.api(`/api/v1/health/cameras?ids=${tooMany}`)).status).toBe(400);
  });

  it('counts cameras by status from kept aggregates', async () => {
    await create({ id: 'counted-off', name: 'Off', url: 'rtsp://127.0.0.6/a', enabled: false });
    const summary = await (await relay.api('/api/v1/health')).json();
    const total = (await relay.redis.zcard(`${relay.config.redis.prefix}:cameras:index`)) as number;
    expect(summary.total).toBe(total);
    expect(summary.byStatus.disabled).toBeGreaterThanOrEqual(1);
    const sum = Object.values(summary.byStatus as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(sum).toBe(total);
    expect(summary.workers.live).toBe(0);
  });

  it('serves probes and an OpenAPI document generated from the route schemas', async () => {
    expect(await (await relay.api('/healthz')).json()).toEqual({ status: 'ok' });
    expect(await (await relay.api('/readyz')).json()).toEqual({ status: 'ready' });
    const doc = await (await relay.api('/docs/json')).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/cameras',
        '/api/v1/cameras/{id}',
        '/api/v1/cameras/{id}/health',
        '/api/v1/health',
      ]),
    );
    const createBody = doc.paths['/api/v1/cameras'].post.requestBody.content['application/json'].schema;
    expect(createBody.required).toEqual(expect.arrayContaining(['name']));
    // url is required for pull cameras only, so the document says so in words.
    expect(createBody.properties.source.enum).toEqual(['pull', 'push']);
    expect(createBody.properties.url.description).toMatch(/required for pull cameras/i);
    expect(createBody.properties.transcode.enum).toEqual(['auto', 'copy', 'h264']);
    expect((await relay.api('/docs')).status).toBeLessThan(400);
  });
});
