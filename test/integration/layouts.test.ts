import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';

/** Wall layouts in Redis through the API: what every wall screen loads. No worker: nothing is ingested. */
describe('wall layouts', () => {
  let relay: TestCamrelay;

  beforeAll(async () => {
    relay = await startTestCamrelay('relay');
    for (const id of ['lay-a', 'lay-b', 'lay-c']) {
      await relay.api('/api/v1/cameras', {
        method: 'POST',
        json: { id, name: id, url: `rtsp://127.0.0.1/${id}` },
      });
    }
  });
  afterAll(async () => {
    await relay?.close();
  });

  const save = (json: unknown) => relay.api('/api/v1/layouts', { method: 'POST', json });

  it('saves a layout with one entry per tile, and refuses a second one of the same name', async () => {
    const response = await save({ name: 'lobby', grid: 4, cameras: ['lay-a', null, 'lay-b'] });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({
      name: 'lobby',
      grid: 4,
      cameras: ['lay-a', null, 'lay-b', null],
    });
    const again = await save({ name: 'lobby', grid: 1, cameras: [] });
    expect(again.status).toBe(409);
    expect((await again.json()).code).toBe('CAMRELAY_ERR_LAYOUT_EXISTS');
    expect(await (await relay.api('/api/v1/layouts/lobby')).json()).toMatchObject({ grid: 4 });
  });

  it('names the field of a bad layout, and saves nothing', async () => {
    const cases: Array<[unknown, string]> = [
      [{ name: 'Bad Name', grid: 4, cameras: [] }, 'body.name'],
      [{ name: 'odd', grid: 5, cameras: [] }, 'body.grid'],
      [{ name: 'crowded', grid: 1, cameras: ['lay-a', 'lay-b'] }, 'body.cameras'],
      [{ name: 'ghost', grid: 4, cameras: ['lay-a', null, 'lay-gone'] }, 'body.cameras.2'],
      [{ name: 'sloppy', grid: 4, cameras: ['Not An Id'] }, 'body.cameras.0'],
      [{ name: 'extra', grid: 4, cameras: [], colour: 'red' }, 'body.colour'],
    ];
    for (const [body, field] of cases) {
      const response = await save(body);
      expect(response.status, field).toBe(400);
      const error = await response.json();
      expect(error.code).toBe('CAMRELAY_ERR_VALIDATION');
      expect(error.fields.map((f: { field: string }) => f.field)).toContain(field);
    }
    const names = (await (await relay.api('/api/v1/layouts')).json()).items.map(
      (l: { name: string }) => l.name,
    );
    expect(names).not.toEqual(expect.arrayContaining(['odd', 'crowded', 'ghost', 'sloppy', 'extra']));
  });

  it('replaces with PUT, lists by name, deletes, and answers 404 for a layout that is not there', async () => {
    const created = await relay.api('/api/v1/layouts/yard', {
      method: 'PUT',
      json: { grid: 1, cameras: ['lay-c'] },
    });
    expect(created.status).toBe(201);
    const replaced = await relay.api('/api/v1/layouts/yard', {
      method: 'PUT',
      json: { grid: 9, cameras: ['lay-a', 'lay-b', 'lay-c'] },
    });
    expect(replaced.status).toBe(200);
    const list = (await (await relay.api('/api/v1/layouts')).json()).items;
    const names = list.map((l: { name: string }) => l.name);
    expect(names).toEqual([...names].sort());
    expect(list.find((l: { name: string }) => l.name === 'yard')).toMatchObject({
      grid: 9,
      cameras: ['lay-a', 'lay-b', 'lay-c', null, null, null, null, null, null],
    });
    expect((await relay.api('/api/v1/layouts/yard', { method: 'DELETE' })).status).toBe(204);
    expect((await relay.api('/api/v1/layouts/yard')).status).toBe(404);
    const gone = await relay.api('/api/v1/layouts/yard', { method: 'DELETE' });
    expect(gone.status).toBe(404);
    expect((await gone.json()).code).toBe('CAMRELAY_ERR_LAYOUT_NOT_FOUND');
  });
});
