import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';

/** Batch import: every row checked, per-row errors, only valid rows land. No worker: nothing is ingested. */
describe('camera import', () => {
  let relay: TestCamrelay;

  beforeAll(async () => {
    relay = await startTestCamrelay('relay');
    await relay.api('/api/v1/cameras', {
      method: 'POST',
      json: { id: 'taken', name: 'Taken', url: 'rtsp://127.0.0.1/t' },
    });
  });
  afterAll(async () => {
    await relay?.close();
  });

  const ids = async () =>
    (await (await relay.api('/api/v1/cameras?limit=1000')).json()).items.map((c: { id: string }) => c.id);

  it('imports the valid rows of a JSON import and reports each bad row by row, field and reason', async () => {
    const rows = [
      { id: 'imp-1', name: 'One', url: 'rtsp://127.0.0.1/1' },
      { id: 'imp-2', name: 'Two', url: 'ftp://127.0.0.1/2' },
      { id: 'Bad Id', name: 'Three', url: 'rtsp://127.0.0.1/3' },
      { id: 'imp-4', name: 'Four', url: 'rtsp://10.9.9.9/4' },
      { id: 'taken', name: 'Five', url: 'rtsp://127.0.0.1/5' },
      { id: 'imp-1', name: 'Six', url: 'rtsp://127.0.0.1/6' },
      { name: 'Seven', url: 'rtsp://admin:Import-Pw-77@127.0.0.1/7', mode: 'on-demand', enabled: false },
      { id: 'imp-8', url: 'rtsp://127.0.0.1/8', mode: 'sometimes' },
      'not an object',
    ];
    const response = await relay.api('/api/v1/cameras/import', { method: 'POST', json: rows });
    expect(response.status).toBe(200);
    const result = await response.json();
    expect(result.imported).toBe(2);
    expect(result.errors).toEqual([
      { row: 2, id: 'imp-2', field: 'url', message: expect.stringMatching(/scheme/) },
      { row: 3, id: 'Bad Id', field: 'id', message: expect.stringMatching(/must match/) },
      { row: 4, id: 'imp-4', field: 'url', message: expect.stringMatching(/outside CAMERA_NETWORKS/) },
      { row: 5, id: 'taken', field: 'id', message: 'camera taken already exists' },
      { row: 6, id: 'imp-1', field: 'id', message: 'id imp-1 appears twice in this import' },
      { row: 8, id: 'imp-8', field: 'name', message: expect.any(String) },
      { row: 8, id: 'imp-8', field: 'mode', message: expect.any(String) },
      { row: 9, id: null, field: null, message: expect.any(String) },
    ]);
    expect(result.failed).toBe(7);
    const present = await ids();
    expect(present).toContain('imp-1');
    expect(present.filter((id: string) => id.startsWith('seven-'))).toHaveLength(1);
    for (const id of ['imp-2', 'imp-4', 'imp-8']) expect(present).not.toContain(id);
    const seven = present.find((id: string) => id.startsWith('seven-'));
    const health = await (await relay.api(`/api/v1/cameras/${seven}/health`)).json();
    expect(health.status).toBe('disabled');
    expect(JSON.stringify(result)).not.toContain('Import-Pw-77');
  });

  it('imports CSV with a header line, cells coerced as the API would take them', async () => {
    const csv = [
      'id,name,url,mode,enabled,tags',
      'csv-1,Gate,rtsp://127.0.0.1/g,,true,north; gate',
      'csv-2,Door,rtsp://127.0.0.1/d,on-demand,,',
      'csv-3,Yard,not-a-url,,,',
      'csv-4,Dock,rtsp://127.0.0.1/k,always,maybe,',
    ].join('\n');
    const response = await relay.api('/api/v1/cameras/import', {
      method: 'POST',
      body: csv,
      headers: { 'content-type': 'text/csv' },
    });
    const result = await response.json();
    expect(result).toMatchObject({ imported: 2, failed: 2 });
    expect(result.errors.map((e: { row: number; field: string }) => [e.row, e.field])).toEqual([
      [3, 'url'],
      [4, 'enabled'],
    ]);
    const door = await (await relay.api('/api/v1/cameras/csv-2')).json();
    expect(door).toMatchObject({ mode: 'on-demand', enabled: true, tags: [] });
    expect((await (await relay.api('/api/v1/cameras/csv-1')).json()).tags).toEqual(['north', 'gate']);
    expect((await (await relay.api('/api/v1/cameras/csv-2/health')).json()).status).toBe('idle');
  });

  it('refuses what is not an import at all', async () => {
    const response = await relay.api('/api/v1/cameras/import', { method: 'POST', json: { hello: 'world' } });
    expect(response.status).toBe(400);
    expect((await response.json()).fields[0].field).toBe('body');
  });
});
