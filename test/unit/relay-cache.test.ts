import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { redisKeys } from '../../src/redis/keys.js';
import { ByteCache } from '../../src/relay/byte-cache.js';
import { signablePlaylist } from '../../src/relay/signed-playlist.js';
import { SecretBox } from '../../src/security/secret-box.js';
import { StreamSigner } from '../../src/security/stream-signer.js';

describe('ByteCache', () => {
  const bytes = (n: number) => Buffer.alloc(n, 1);

  it('serves an entry until its time is up, then forgets it', () => {
    let nowMs = 1000;
    const cache = new ByteCache(100, () => nowMs);
    cache.set('a', bytes(10), 500);
    nowMs = 1499;
    expect(cache.get('a')?.length).toBe(10);
    nowMs = 1500;
    expect(cache.get('a')).toBeNull();
    expect(cache.sizeBytes).toBe(0);
  });

  it('stays within its bytes, dropping the oldest first', () => {
    const cache = new ByteCache(100, () => 0);
    cache.set('old', bytes(40), 1000);
    cache.set('middle', bytes(40), 1000);
    cache.set('new', bytes(40), 1000);
    expect(cache.get('old')).toBeNull();
    expect(cache.get('middle')).not.toBeNull();
    expect(cache.get('new')).not.toBeNull();
    expect(cache.sizeBytes).toBe(80);
  });

  it('counts a replaced entry once, and keeps nothing bigger than itself', () => {
    const cache = new ByteCache(100, () => 0);
    cache.set('a', bytes(30), 1000);
    cache.set('a', bytes(50), 1000);
    expect(cache.sizeBytes).toBe(50);
    cache.set('huge', bytes(101), 1000);
    expect(cache.get('huge')).toBeNull();
    expect(cache.get('a')?.length).toBe(50);
  });
});

/** How playlists were signed before they were split once per version: the reference the split must match. */
function signLineByLine(text: string, query: string): string {
  if (!query) return text;
  const withQuery = (uri: string) => `${uri}${uri.includes('?') ? '&' : '?'}${query}`;
  return text
    .split('\n')
    .map((line) => {
      const trimmed = line.trim();
      if (trimmed === '') return line;
      if (!trimmed.startsWith('#')) return withQuery(trimmed);
      return line.replace(/URI="([^"]*)"/g, (_, uri: string) => `URI="${withQuery(uri)}"`);
    })
    .join('\n');
}

describe('signablePlaylist', () => {
  const playlist = [
    '#EXTM3U',
    '#EXT-X-KEY:METHOD=AES-128,URI="key?id=1",IV=0x1',
    '#EXT-X-MAP:URI="init.mp4"',
    '#EXTINF:1.0,',
    '  r1-5.ts  ',
    '',
    '#EXTINF:1.0,',
    'r1-6.ts?part=1\r',
    '',
  ].join('\n');

  it('signs as the line-by-line signer did, for any viewer of the same version', () => {
    const sign = signablePlaylist(playlist);
    for (const query of ['exp=1&kid=2&sig=x', 'exp=9&kid=3&sig=y&v=tok_1', '']) {
      expect(sign(query)).toBe(signLineByLine(playlist, query));
    }
    expect(sign('exp=1&kid=2&sig=x')).toContain('URI="key?id=1&exp=1&kid=2&sig=x"');
  });

  it('matches it on any text made of playlist-like lines', () => {
    const line = fc.oneof(
      fc.constantFrom('#EXTM3U', '#EXTINF:1.0,', '', '  ', '#EXT-X-MAP:URI="i.mp4"', 'a.ts', 'b.ts?x=1'),
      fc.string({ maxLength: 20 }),
      fc
        .tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }))
        .map(([a, b]) => `#T:URI="${a}",${b}`),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.string({ maxLength: 12 }), (lines, query) => {
        const text = lines.join('\n');
        expect(signablePlaylist(text)(query)).toBe(signLineByLine(text, query));
      }),
    );
  });
});

describe('StreamSigner, remembering verified URLs', () => {
  const ROTATION_SEC = 3600;
  afterEach(() => vi.useRealTimers());

  /** Just enough of Redis for the signer's keys: one hash. */
  function signer() {
    const hash = new Map<string, string>();
    const redis = {
      hsetnx: async (_key: string, field: string, value: string) => {
        if (hash.has(field)) return 0;
        hash.set(field, value);
        return 1;
      },
      hget: async (_key: string, field: string) => hash.get(field) ?? null,
    } as unknown as Redis;
    return new StreamSigner(redis, redisKeys('t'), new SecretBox(randomBytes(32)), ROTATION_SEC);
  }
  const nowSec = () => Math.floor(Date.now() / 1000);

  it('accepts the same URL again, and nothing it was not signed for', async () => {
    const streams = signer();
    const exp = nowSec() + 600;
    const query = await streams.sign({ cameraId: 'cam-a', exp });
    expect((await streams.verify('cam-a', query)).ok).toBe(true);
    expect((await streams.verify('cam-a', query)).ok).toBe(true);
    expect(await streams.verify('cam-b', query)).toEqual({ ok: false, reason: 'bad signature' });
    expect((await streams.verify('cam-a', { ...query, exp: String(exp + 1) })).ok).toBe(false);
    expect((await streams.verify('cam-a', { ...query, v: 'tok_someone' })).ok).toBe(false);
    const altered = `${query.sig.slice(0, -1)}${query.sig.endsWith('A') ? 'B' : 'A'}`;
    expect(await streams.verify('cam-a', { ...query, sig: altered })).toEqual({
      ok: false,
      reason: 'bad signature',
    });
  });

  it('keeps a viewer-bound URL bound to its viewer', async () => {
    const streams = signer();
    const query = await streams.sign({ cameraId: 'cam-a', exp: nowSec() + 600, viewer: 'tok_1' });
    const verdict = await streams.verify('cam-a', query);
    expect(verdict.ok && verdict.grant.viewer).toBe('tok_1');
    const again = await streams.verify('cam-a', query);
    expect(again.ok && again.grant.viewer).toBe('tok_1');
    expect((await streams.verify('cam-a', { ...query, v: undefined })).ok).toBe(false);
  });

  it('refuses a remembered URL once it expires, and once its key is two periods old', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2030-01-01T00:10:00Z'));
    const streams = signer();
    const shortLived = await streams.sign({ cameraId: 'cam-a', exp: nowSec() + 60 });
    const longLived = await streams.sign({ cameraId: 'cam-a', exp: nowSec() + 3 * ROTATION_SEC });
    expect((await streams.verify('cam-a', shortLived)).ok).toBe(true);
    expect((await streams.verify('cam-a', longLived)).ok).toBe(true);
    vi.setSystemTime(Date.now() + 61_000);
    expect(await streams.verify('cam-a', shortLived)).toEqual({ ok: false, reason: 'expired' });
    expect((await streams.verify('cam-a', longLived)).ok).toBe(true);
    vi.setSystemTime(Date.now() + 2 * ROTATION_SEC * 1000);
    expect(await streams.verify('cam-a', longLived)).toEqual({ ok: false, reason: 'unknown key' });
  });
});
