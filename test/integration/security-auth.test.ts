import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCamrelay, type TestCamrelay } from '../support/test-camrelay.js';
import { sleep } from '../support/wait.js';

type Credential = 'none' | 'viewer' | 'operator' | 'admin' | 'revoked' | 'expired';
type Need = 'public' | 'viewer' | 'operator' | 'admin';

interface RouteCase {
  method: string;
  path: string;
  need: Need;
  json?: unknown;
}

const CREDENTIALS: Credential[] = ['none', 'viewer', 'operator', 'admin', 'revoked', 'expired'];
const RANK: Record<Need, number> = { public: 0, viewer: 1, operator: 2, admin: 3 };

/** Every route of the relay with the least role it needs. The test below checks the list is complete. */
const ROUTES: RouteCase[] = [
  { method: 'GET', path: '/healthz', need: 'public' },
  { method: 'GET', path: '/readyz', need: 'public' },
  { method: 'GET', path: '/wall', need: 'public' },
  { method: 'GET', path: '/wall/assets/wall.js', need: 'public' },
  // An empty body: the route is reached (400), whatever credential the caller has.
  { method: 'POST', path: '/api/v1/session', need: 'public', json: {} },
  { method: 'DELETE', path: '/api/v1/session', need: 'public' },
  { method: 'GET', path: '/api/v1/session', need: 'viewer' },
  { method: 'GET', path: '/api/v1/cameras', need: 'viewer' },
  { method: 'GET', path: '/api/v1/cameras/matrix-cam', need: 'viewer' },
  { method: 'GET', path: '/api/v1/cameras/matrix-cam/stream', need: 'viewer' },
  { method: 'GET', path: '/api/v1/cameras/matrix-cam/snapshot.jpg', need: 'viewer' },
  { method: 'GET', path: '/docs', need: 'viewer' },
  { method: 'GET', path: '/docs/json', need: 'viewer' },
  { method: 'GET', path: '/api/v1/cameras/matrix-cam/health', need: 'viewer' },
  { method: 'GET', path: '/api/v1/cameras/matrix-cam/events', need: 'viewer' },
  { method: 'GET', path: '/api/v1/health', need: 'operator' },
  { method: 'GET', path: '/api/v1/health/cameras?ids=matrix-cam', need: 'viewer' },
  { method: 'GET', path: '/metrics', need: 'operator' },
  { method: 'POST', path: '/api/v1/cameras', need: 'admin', json: { name: 'x', url: 'rtsp://127.0.0.1/x' } },
  { method: 'PATCH', path: '/api/v1/cameras/matrix-cam', need: 'admin', json: { name: 'renamed' } },
  { method: 'POST', path: '/api/v1/cameras/import', need: 'admin', json: [] },
  // A pull camera: the route is reached (409), and no key is made.
  { method: 'POST', path: '/api/v1/cameras/matrix-cam/publish-key', need: 'admin' },
  { method: 'DELETE', path: '/api/v1/cameras/matrix-absent', need: 'admin' },
  { method: 'GET', path: '/api/v1/tokens', need: 'admin' },
  { method: 'POST', path: '/api/v1/tokens', need: 'admin', json: { name: 'made in matrix', role: 'viewer' } },
  { method: 'DELETE', path: '/api/v1/tokens/0000000000000000', need: 'admin' },
  { method: 'GET', path: '/api/v1/audit', need: 'admin' },
  { method: 'GET', path: '/api/v1/layouts', need: 'viewer' },
  { method: 'GET', path: '/api/v1/layouts/matrix-layout', need: 'viewer' },
  {
    method: 'POST',
    path: '/api/v1/layouts',
    need: 'operator',
    json: { name: 'matrix-new', grid: 1, cameras: [] },
  },
  { method: 'PUT', path: '/api/v1/layouts/matrix-layout', need: 'operator', json: { grid: 4, cameras: [] } },
  { method: 'DELETE', path: '/api/v1/layouts/matrix-absent', need: 'operator' },
];

/** What a credential must get from a route: 401 without a valid one, 403 with too low a role. */
function expected(credential: Credential, need: Need): 'allowed' | 401 | 403 {
  if (need === 'public') return 'allowed';
  if (credential === 'none' || credential === 'revoked' || credential === 'expired') return 401;
  return RANK[credential] >= RANK[need] ? 'allowed' : 403;
}

describe('authentication and roles', () => {
  let relay: TestCamrelay;
  const tokens: Partial<Record<Credential, string>> = {};

  beforeAll(async () => {
    relay = await startTestCamrelay('relay', { AUTH_RATE_LIMIT_PER_MIN: '10000' });
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      tokens[role] = (await relay.tokens.create({ name: `matrix ${role}`, role }, 'test')).token;
    }
    const revoked = await relay.tokens.create({ name: 'matrix revoked', role: 'admin' }, 'test');
    await relay.tokens.revoke(revoked.record.id);
    tokens.revoked = revoked.token;
    tokens.expired = (
      await relay.tokens.create({ name: 'matrix expired', role: 'admin', ttlSec: 1 }, 'test')
    ).token;
    await sleep(1100);
    await relay.api('/api/v1/cameras', {
      method: 'POST',
      json: { id: 'matrix-cam', name: 'm', url: 'rtsp://127.0.0.1/m' },
    });
  });
  afterAll(async () => {
    await relay?.close();
  });

  it('covers every route the relay serves', async () => {
    const doc = await (await relay.api('/docs/json')).json();
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, methods]) =>
        Object.keys(methods).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    const listed = new Set(
      ROUTES.map(
        (r) =>
          `${r.method} ${r.path
            .replace(/\?.*$/, '')
            .replace(/\/layouts\/matrix-\w+/, '/layouts/:name')
            .replace('matrix-cam', ':id')
            .replace('matrix-absent', ':id')
            .replace('0000000000000000', ':id')
            .replace('assets/wall.js', 'assets/:file')}`,
      ),
    );
    listed.add('GET /api/v1/events'); // a stream: checked on its own below
    listed.add('GET /hls/:cameraId/:file'); // signed URLs: security-streams.test.ts
    expect(documented.filter((route) => !listed.has(route))).toEqual([]);
  });

  for (const route of ROUTES) {
    it(`${route.method} ${route.path} (${route.need})`, async () => {
      for (const credential of CREDENTIALS) {
        const token = credential === 'none' ? null : (tokens[credential] as string);
        const response = await relay.api(route.path, { method: route.method, json: route.json, token });
        const want = expected(credential, route.need);
        const got = response.status;
        if (want === 'allowed') expect([401, 403], `${credential}: ${got}`).not.toContain(got);
        else expect(got, credential).toBe(want);
        if (got === 401 || got === 403) {
          expect((await response.json()).code).toBe(
            got === 401 ? 'CAMRELAY_ERR_UNAUTHENTICATED' : 'CAMRELAY_ERR_FORBIDDEN',
          );
        }
      }
    });
  }

  it('the live event stream needs a viewer: walls show status on their tiles', async () => {
    const statuses: Record<string, number> = {};
    for (const credential of CREDENTIALS) {
      const controller = new AbortController();
      const headers: Record<string, string> =
        credential === 'none' ? {} : { authorization: `Bearer ${tokens[credential] as string}` };
      const response = await fetch(`${relay.url}/api/v1/events`, { headers, signal: controller.signal });
      statuses[credential] = response.status;
      controller.abort();
    }
    expect(statuses).toEqual({
      none: 401,
      viewer: 200,
      operator: 200,
      admin: 200,
      revoked: 401,
      expired: 401,
    });
  });

  it('signs the wall in with a token: an HttpOnly, SameSite=Strict cookie that dies with its token', async () => {
    const token = await relay.tokens.create({ name: 'wall-1', role: 'viewer' }, 'test');
    const signIn = await relay.api('/api/v1/session', {
      method: 'POST',
      json: { token: token.token },
      token: null,
    });
    expect(signIn.status).toBe(200);
    expect(await signIn.json()).toMatchObject({ name: 'wall-1', role: 'viewer', via: 'session' });
    const setCookie = signIn.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^camrelay_session=[\w-]{40,};/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toMatch(/Secure/); // no TLS here; the TLS test checks Secure
    const cookie = setCookie.split(';')[0] as string;
    const withCookie = (path: string, method = 'GET') =>
      relay.api(path, { method, token: null, headers: { cookie } });
    expect((await withCookie('/api/v1/cameras')).status).toBe(200);
    expect((await withCookie('/api/v1/health')).status).toBe(403);
    await relay.tokens.revoke(token.record.id);
    expect((await withCookie('/api/v1/cameras')).status).toBe(401);
    const wrong = await relay.api('/api/v1/session', {
      method: 'POST',
      json: { token: 'crt_nope' },
      token: null,
    });
    expect(wrong.status).toBe(401);
  });

  it('creates tokens shown once, stored hashed, and revocable', async () => {
    const created = await (
      await relay.api('/api/v1/tokens', {
        method: 'POST',
        json: { name: 'ops: Ana', role: 'operator', ttlSec: 3600 },
      })
    ).json();
    expect(created.token).toMatch(/^crt_[\w-]{40,}$/);
    expect(created).toMatchObject({
      name: 'ops: Ana',
      role: 'operator',
      createdBy: expect.stringContaining('bootstrap'),
    });
    const listed = await (await relay.api('/api/v1/tokens')).text();
    expect(listed).toContain(created.id);
    expect(listed).not.toContain(created.token);
    const stored = await relay.redis.hgetall(`${relay.config.redis.prefix}:tokens`);
    expect(JSON.stringify(stored)).not.toContain(created.token);
    expect((await relay.api('/api/v1/health', { token: created.token })).status).toBe(200);
    expect((await relay.api(`/api/v1/tokens/${created.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await relay.api('/api/v1/health', { token: created.token })).status).toBe(401);
    expect((await relay.api(`/api/v1/tokens/${created.id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('audits admin actions and stream starts: who, what, when, from where', async () => {
    const viewer = tokens.viewer as string;
    await relay.api('/api/v1/cameras', {
      method: 'POST',
      json: { id: 'audited', name: 'a', url: 'rtsp://u:Audit-Secret-1@127.0.0.1/a' },
    });
    await relay.api('/api/v1/cameras/audited', { method: 'PATCH', json: { name: 'b' } });
    await relay.api('/api/v1/cameras/audited/stream', { token: viewer });
    const deleted = await relay.api('/api/v1/cameras/audited', { method: 'DELETE' });
    expect(deleted.status, await deleted.text()).toBe(204);
    const { items } = await (await relay.api('/api/v1/audit?limit=20')).json();
    const about = items.filter((e: { target: string }) => e.target === 'audited');
    expect(about.map((e: { action: string }) => e.action)).toEqual([
      'camera.delete',
      'stream.start',
      'camera.update',
      'camera.create',
    ]);
    expect(about[1]).toMatchObject({
      who: expect.stringContaining('matrix viewer'),
      role: 'viewer',
      from: '127.0.0.1',
    });
    expect(about.every((e: { at: string }) => !Number.isNaN(Date.parse(e.at)))).toBe(true);
    expect(JSON.stringify(items)).not.toContain('Audit-Secret-1');
  });

  it('sends security headers: CSP for our own scripts only, no sniffing, no framing', async () => {
    const response = await relay.api('/healthz', { token: null });
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('rate limits and CORS', () => {
  let relay: TestCamrelay;

  beforeAll(async () => {
    relay = await startTestCamrelay('relay', {
      RATE_LIMIT_PER_MIN: '40',
      AUTH_RATE_LIMIT_PER_MIN: '5',
      CORS_ORIGINS: 'http://wall.example:8080',
    });
  });
  afterAll(async () => {
    await relay?.close();
  });

  it('limits sign-in attempts per address and API calls per token, not stream requests', async () => {
    const attempts = [];
    for (let i = 0; i < 7; i++) {
      attempts.push(
        (await relay.api('/api/v1/session', { method: 'POST', json: { token: `guess-${i}` }, token: null }))
          .status,
      );
    }
    expect(attempts.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(attempts.slice(5)).toEqual([429, 429]);
    const limited = await relay.api('/api/v1/session', {
      method: 'POST',
      json: { token: 'again' },
      token: null,
    });
    expect(await limited.json()).toMatchObject({ statusCode: 429, code: 'CAMRELAY_ERR_RATE_LIMITED' });
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);

    const calls = [];
    for (let i = 0; i < 45; i++) calls.push((await relay.api('/api/v1/cameras')).status);
    expect(calls.filter((s) => s === 429).length).toBeGreaterThan(0);
    const other = await relay.tokens.create({ name: 'second', role: 'viewer' }, 'test');
    expect((await relay.api('/api/v1/cameras', { token: other.token })).status).toBe(200);

    const streams = [];
    for (let i = 0; i < 60; i++)
      streams.push(
        (await relay.api('/hls/matrix-none/index.m3u8?exp=1&kid=1&sig=x', { token: null })).status,
      );
    expect(streams.every((s) => s === 403)).toBe(true);
  });

  it('answers CORS only for the configured origins', async () => {
    const preflight = (origin: string) =>
      relay.api('/api/v1/cameras', {
        method: 'OPTIONS',
        token: null,
        headers: {
          origin,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      });
    const allowed = await preflight('http://wall.example:8080');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://wall.example:8080');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const refused = await preflight('http://evil.example');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });
});
