import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect((err as { code?: string }).code).toBe('CAMRELAY_ERR_CONFIG_INVALID');
    return (err as Error).message;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('gives the documented defaults', () => {
    const config = loadConfig({});
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080, corsOrigins: ['*'] });
    expect(config.dataDir).toBe(path.resolve('data'));
    expect(config.hlsRoot).toBe(path.resolve('data/hls'));
    expect(config.redis).toEqual({ url: undefined, prefix: 'camrelay' });
    expect(config.hls).toEqual({ segmentDurationSec: 1, listSize: 6 });
    expect(config.ffmpeg.rtspTimeoutMs).toBe(5000);
    expect(config.logLevel).toBe('info');
  });

  it('derives HLS_ROOT from DATA_DIR unless set', () => {
    expect(loadConfig({ DATA_DIR: '/srv/cam' }).hlsRoot).toBe('/srv/cam/hls');
    expect(loadConfig({ DATA_DIR: '/srv/cam', HLS_ROOT: '/fast/hls' }).hlsRoot).toBe('/fast/hls');
  });

  it('reports every bad key at once, each by name and reason', () => {
    const message = errorOf({
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      REDIS_URL: 'http://redis:6379',
      HLS_SEGMENT_DURATION_SEC: '0.1',
      WORKER_MAX_STREAMS: '2.5',
    });
    expect(message).toMatch(/PORT: must be a number/);
    expect(message).toMatch(/LOG_LEVEL: /);
    expect(message).toMatch(/REDIS_URL: must start with redis:\/\/, rediss:\/\/ or unix:\/\//);
    expect(message).toMatch(/HLS_SEGMENT_DURATION_SEC: must be at least 0.5/);
    expect(message).toMatch(/WORKER_MAX_STREAMS: must be a whole number/);
  });

  it('checks keys against each other', () => {
    expect(errorOf({ HEALTH_PUBLISH_INTERVAL_MS: '5000', HEALTH_STALE_MS: '6000' })).toMatch(
      /HEALTH_STALE_MS: must be at least twice HEALTH_PUBLISH_INTERVAL_MS/,
    );
  });

  it('treats an empty variable as unset, as compose files write them', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '' }).http.port).toBe(8080);
  });

  it('reads a JSON file, lets the environment win, and names unknown keys in it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'camrelay-config-'));
    const file = path.join(dir, 'camrelay.json');
    writeFileSync(file, JSON.stringify({ PORT: 9000, HOST: '0.0.0.0', LOG_LEVEL: 'debug' }));
    const config = loadConfig({ CONFIG_FILE: file, LOG_LEVEL: 'warn' });
    expect(config.http.port).toBe(9000);
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.logLevel).toBe('warn');
    writeFileSync(file, JSON.stringify({ PROT: 9000 }));
    expect(errorOf({ CONFIG_FILE: file })).toMatch(/PROT: is not a camrelay setting/);
    writeFileSync(file, '{ not json');
    expect(errorOf({ CONFIG_FILE: file })).toMatch(/CONFIG_FILE: .* is not valid/);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
  });
});
