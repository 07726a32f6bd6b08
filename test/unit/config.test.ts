import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080, corsOrigins: [] });
    expect(config.dataDir).toBe(path.resolve('data'));
    expect(config.hlsRoot).toBe(path.resolve('data/hls'));
    expect(config.redis).toEqual({ url: undefined, prefix: 'camrelay' });
    expect(config.hls).toEqual({
      segmentDurationSec: 1,
      listSize: 6,
      mode: 'll',
      partDurationMs: 200,
      writeDisk: false,
    });
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
    expect(errorOf({ STREAM_URL_TTL_SEC: '7200', STREAM_KEY_ROTATION_SEC: '3600' })).toMatch(
      /STREAM_URL_TTL_SEC: must not exceed STREAM_KEY_ROTATION_SEC/,
    );
  });

  it('checks the security settings', () => {
    const message = errorOf({
      CORS_ORIGINS: '*',
      CAMERA_NETWORKS: '10.0.0.0/8,not-a-net,10.1.0.0/33',
      CAMRELAY_SECRET_KEY: 'short',
      CAMRELAY_ADMIN_TOKEN: 'weak',
      TLS_CERT_FILE: '/etc/cert.pem',
      STREAM_URL_TTL_SEC: '7200',
      STREAM_KEY_ROTATION_SEC: '3600',
      CAMERA_URL_SCHEMES: 'rtsp,file',
    });
    expect(message).toMatch(/CORS_ORIGINS: .*\* is refused/);
    expect(message).toMatch(/CAMERA_NETWORKS: "not-a-net" is not a CIDR block/);
    expect(message).toMatch(/CAMERA_NETWORKS: "10.1.0.0\/33" is not a CIDR block/);
    expect(message).toMatch(/CAMRELAY_SECRET_KEY: must be 32 bytes/);
    expect(message).toMatch(/CAMRELAY_ADMIN_TOKEN: must be at least 32 characters/);
    expect(message).toMatch(/TLS_KEY_FILE: TLS_CERT_FILE and TLS_KEY_FILE go together/);
    expect(message).toMatch(/STREAM_URL_TTL_SEC: must not exceed STREAM_KEY_ROTATION_SEC/);
    expect(message).toMatch(/CAMERA_URL_SCHEMES.*: must be among/);
  });

  it('reads networks, keys and schemes', () => {
    const key = 'ab'.repeat(32);
    const { security } = loadConfig({ CAMERA_NETWORKS: '10.20.0.0/16, fd00::/8', CAMRELAY_SECRET_KEY: key });
    expect(security.cameraNetworks).toEqual([
      { address: '10.20.0.0', prefix: 16, family: 'ipv4' },
      { address: 'fd00::', prefix: 8, family: 'ipv6' },
    ]);
    expect(security.secretKey?.toString('hex')).toBe(key);
    expect(security.cameraUrlSchemes).toEqual(['rtsp', 'rtsps', 'rtmp', 'rtmps', 'srt']);
    expect(loadConfig({ CAMERA_NETWORKS: 'any' }).security.cameraNetworks).toBe('any');
  });

  it('treats an empty variable as unset, as compose files write them', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '' }).http.port).toBe(8080);
  });

  it('reads a JSON file, lets the environment win, and names unknown keys in it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'camrelay-config-'));
    try {
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
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
  });
});
