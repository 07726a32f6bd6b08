import { describe, expect, it } from 'vitest';
import { maskUrl, redactSecrets, secretsOf } from '../../src/cameras/url.js';

describe('maskUrl', () => {
  it('masks the password and keeps the rest', () => {
    expect(maskUrl('rtsp://admin:Sup3r-Secret@10.1.2.3:554/Streaming/Channels/101')).toBe(
      'rtsp://admin:***@10.1.2.3:554/Streaming/Channels/101',
    );
  });

  it('leaves URLs without credentials as they are', () => {
    expect(maskUrl('rtsp://10.1.2.3/stream1')).toBe('rtsp://10.1.2.3/stream1');
    expect(maskUrl('rtsp://viewer@10.1.2.3/stream1')).toBe('rtsp://viewer@10.1.2.3/stream1');
  });

  it('masks percent-encoded passwords and credential query parameters', () => {
    expect(maskUrl('rtsp://admin:p%40ss%3Aword@cam.local/live')).toBe('rtsp://admin:***@cam.local/live');
    expect(maskUrl('rtsp://cam.local/cam/realmonitor?channel=1&user=admin&password=hunter22')).toBe(
      'rtsp://cam.local/cam/realmonitor?channel=1&user=admin&password=***',
    );
  });
});

describe('redactSecrets', () => {
  it('masks credentials in ffmpeg-style lines', () => {
    const url = 'rtsp://admin:Wrong-Pass@127.0.0.1:45283/locked';
    const line = `[error] ${url}: Server returned 401 Unauthorized (authorization failed)`;
    const redacted = redactSecrets(line, secretsOf(url));
    expect(redacted).toBe(
      '[error] rtsp://admin:***@127.0.0.1:45283/locked: Server returned 401 Unauthorized (authorization failed)',
    );
    expect(redacted).not.toContain('Wrong-Pass');
  });

  it('masks a known secret wherever it appears, raw or decoded', () => {
    const url = 'rtsp://admin:p%40ss%3Aword@cam.local/live';
    expect(secretsOf(url)).toContain('p@ss:word');
    expect(redactSecrets("Input #0, rtsp, from 'p@ss:word'", secretsOf(url))).toBe(
      "Input #0, rtsp, from '***'",
    );
  });

  it('masks secret query values in text', () => {
    expect(redactSecrets('GET /x?token=abc123&channel=2', [])).toBe('GET /x?token=***&channel=2');
  });
});
