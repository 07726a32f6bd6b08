import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';

/**
 * Signed stream URLs on a real relay. The HLS files are written here by hand (ingest is tested elsewhere):
 * what is under test is that only a valid signature opens them.
 */
describe('signed stream URLs', () => {
  let relay: TestCamrelay;
  let viewer: string;
  let otherViewer: string;

  beforeAll(async () => {
    // Playlists and segments written to disk by hand, as in the classic mode.
    relay = await startTestCamrelay('relay', { HLS_MODE: 'classic' });
    for (const id of ['cam-a', 'cam-b']) {
      await relay.api('/api/v1/cameras', {
        method: 'POST',
        json: { id, name: id, url: `rtsp://127.0.0.1/${id}` },
      });
      const dir = path.join(relay.config.hlsRoot, id);
      await mkdir(dir, { recursive: true });
      const playlist = [
        '#EXTM3U',
        '#EXT-X-TARGETDURATION:1',
        '#EXT-X-MEDIA-SEQUENCE:7',
        '#EXTINF:1.0,',
        'r1-7.ts',
        '',
      ];
      await writeFile(path.join(dir, 'index.m3u8'), playlist.join('\n'));
      await writeFile(path.join(dir, 'r1-7.ts'), Buffer.alloc(188, 0x47));
    }
    viewer = (await relay.tokens.create({ name: 'wall viewer', role: 'viewer' }, 'test')).token;
    otherViewer = (await relay.tokens.create({ name: 'someone else', role: 'viewer' }, 'test')).token;
  });
  afterAll(async () => {
    await relay?.close();
  });

  async function streamUrl(cameraId: string, token = viewer, bind = false): Promise<URL> {
    const response = await relay.api(`/api/v1/cameras/${cameraId}/stream${bind ? '?bind=true' : ''}`, {
      token,
    });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(
      (relay.config.security.streamUrlTtlSec - 5) * 1000,
    );
    return new URL(body.url);
  }
  const get = (url: URL | string, headers: Record<string, string> = {}) =>
    fetch(url, { headers }) as Promise<ApiResponse>;

  it('plays with the URL the API gives a viewer, segments signed inside the playlist', async () => {
    const url = await streamUrl('cam-a');
    expect(url.pathname).toBe('/hls/cam-a/index.m3u8');
    const playlist = await get(url);
    expect(playlist.status).toBe(200);
    const text = await playlist.text();
    const segmentLine = text.split('\n').find((line) => line.startsWith('r1-7.ts')) as string;
    expect(segmentLine).toBe(`r1-7.ts${url.search}`);
    const segment = await get(new URL(segmentLine, url));
    expect(segment.status).toBe(200);
    expect(segment.headers.get('cache-control')).toMatch(/^private/);
  });

  it('refuses tampering: another camera, another expiry, another key, a missing or altered signature', async () => {
    const url = await streamUrl('cam-a');
    const variants: Record<string, (u: URL) => void> = {
      'another camera': (u) => {
        u.pathname = '/hls/cam-b/index.m3u8';
      },
      'a later expiry': (u) => u.searchParams.set('exp', String(Number(u.searchParams.get('exp')) + 3600)),
      'an unknown key': (u) => u.searchParams.set('kid', '1'),
      'no signature': (u) => u.searchParams.delete('sig'),
      'an altered signature': (u) =>
        u.searchParams.set('sig', `${u.searchParams.get('sig')?.slice(0, -2)}AA`),
      'a stolen signature on a segment of another camera': (u) => {
        u.pathname = '/hls/cam-b/r1-7.ts';
      },
    };
    for (const [name, tamper] of Object.entries(variants)) {
      const tampered = new URL(url);
      tamper(tampered);
      const response = await get(tampered);
      expect(response.status, name).toBe(403);
      expect((await response.json()).code, name).toBe('CAMRELAY_ERR_STREAM_FORBIDDEN');
    }
    expect((await get(new URL('/hls/cam-a/index.m3u8', url))).status).toBe(403);
  });

  it('refuses a URL replayed after its expiry', async () => {
    const exp = Math.floor(Date.now() / 1000) - 1;
    const query = new URLSearchParams({ ...(await relay.signer.sign({ cameraId: 'cam-a', exp })) });
    const response = await get(`${relay.url}/hls/cam-a/index.m3u8?${query}`);
    expect(response.status).toBe(403);
    expect((await response.json()).message).toMatch(/expired/);
  });

  it("a URL bound to a viewer works only with that viewer's own credential", async () => {
    const bound = await streamUrl('cam-a', viewer, true);
    expect(bound.searchParams.get('v')).toBeTruthy();
    expect((await get(bound)).status).toBe(403);
    expect((await get(bound, { authorization: `Bearer ${otherViewer}` })).status).toBe(403);
    expect((await get(bound, { authorization: `Bearer ${viewer}` })).status).toBe(200);
    const unbound = new URL(bound);
    unbound.searchParams.delete('v');
    expect((await get(unbound)).status).toBe(403);
  });

  it('keeps path tricks at 404 and a stream of a missing camera unavailable', async () => {
    const url = await streamUrl('cam-a');
    for (const trick of ['..%2F..%2Fetc%2Fpasswd', 'index.m3u8.tmp', '.hidden.ts', 'index.m3u8%00.ts']) {
      expect((await get(`${relay.url}/hls/cam-a/${trick}${url.search}`)).status, trick).toBe(404);
    }
    expect((await relay.api('/api/v1/cameras/absent/stream', { token: viewer })).status).toBe(404);
  });
});
