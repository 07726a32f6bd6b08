import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:http2';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSigned } from '../support/certs.js';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';

describe('TLS and HTTP/2', () => {
  let relay: TestCamrelay;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'camrelay-tls-'));
    const { cert, key } = await selfSigned(dir);
    relay = await startTestCamrelay('relay', { TLS_CERT_FILE: cert, TLS_KEY_FILE: key });
  });
  afterAll(async () => {
    await relay?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves HTTPS over HTTP/2, with HSTS', async () => {
    expect(relay.url).toMatch(/^https:\/\//);
    const session = connect(relay.url, { rejectUnauthorized: false });
    try {
      const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const stream = session.request({
          ':path': '/api/v1/health',
          authorization: `Bearer ${relay.adminToken}`,
        });
        stream.on('response', resolve);
        stream.on('error', reject);
        stream.resume();
      });
      expect(headers[':status']).toBe(200);
      expect(String(headers['strict-transport-security'])).toMatch(/max-age=\d+/);
      expect(session.alpnProtocol).toBe('h2');
    } finally {
      session.close();
    }
  });

  it('still answers HTTP/1.1 clients, and marks the session cookie Secure', async () => {
    const token = (await relay.tokens.create({ name: 'tls wall', role: 'viewer' }, 'test')).token;
    const response = await new Promise<{ status: number; cookie: string; version: string }>(
      (resolve, reject) => {
        const req = request(
          `${relay.url}/api/v1/session`,
          { method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            resolve({
              status: res.statusCode ?? 0,
              cookie: String(res.headers['set-cookie']),
              version: res.httpVersion,
            });
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ token }));
      },
    );
    expect(response).toMatchObject({ status: 200, version: '1.1' });
    expect(response.cookie).toMatch(/; Secure/);
    expect(response.cookie).toMatch(/HttpOnly/);
  });
});
