import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApi, type RunningApi } from '../../../services/api/index.js';
import { testConfig } from '../../support/pipeline.js';
import { testLogger } from '../../support/servers.js';

const ADMIN_TOKEN = 'ops-auth-admin-token-0123456789';
const HTML = { accept: 'text/html,application/xhtml+xml' };

/** Who may see the operator surfaces: the admin token as Bearer, or the sign-in cookie; nobody else. */
describe('operator sign-in and access', () => {
  let api: RunningApi;

  beforeAll(async () => {
    const servers = inject('servers');
    api = await startApi({ ...testConfig(servers, { ADMIN_TOKEN }), httpPort: 0 }, servers, testLogger());
  });
  afterAll(() => api?.stop());

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${api.url}${path}`, { headers, redirect: 'manual' });
  const signIn = (token: string, next = '/') => fetch(`${api.url}/login`, { method: 'POST', body: new URLSearchParams({ token, next }), redirect: 'manual' });

  it('answers 401 without the token: a page with a sign-in link for browsers, the JSON error for the rest', async () => {
    for (const path of ['/', '/admin/queues', '/admin/queues/queue/tally-shard-0']) {
      const res = await get(path, HTML);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toContain(`href="/login?next=${encodeURIComponent(path)}"`);
    }
    for (const path of ['/v1/admin/dashboard/overview', '/v1/admin/dashboard/accounts', '/v1/admin/dashboard/dead-letters', '/admin/queues/api/queues']) {
      const res = await get(path);
      expect(res.status, path).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    expect((await get('/v1/admin/dashboard/overview', { authorization: 'Bearer not-the-admin-token-000' })).status).toBe(401);
  });

  it('accepts the Bearer token on every operator surface; /metrics, /healthz and the login page are open', async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    for (const path of ['/', '/admin/queues', '/admin/queues/api/queues', '/v1/admin/dashboard/overview', '/v1/admin/dashboard/ticks']) {
      expect((await get(path, auth)).status, path).toBe(200);
    }
    for (const path of ['/metrics', '/healthz', '/login', '/ops/assets/dashboard.js', '/ops/assets/uPlot.iife.min.js'])
      expect((await get(path)).status, path).toBe(200);
  });

  it('signs in with a form: an HttpOnly SameSite=Strict cookie that is not the token, which opens the dashboard and bull-board', async () => {
    const wrong = await signIn('definitely-not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('That is not the admin token.');

    const res = await signIn(ADMIN_TOKEN, '/admin/queues');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/queues');
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^tally_admin=\d+\.[\w-]{43};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).not.toContain(ADMIN_TOKEN);
    const cookie = setCookie.split(';')[0] ?? '';
    expect((await get('/', { ...HTML, cookie })).status).toBe(200);
    expect((await get('/admin/queues', { ...HTML, cookie })).status).toBe(200);
    expect((await get('/v1/admin/dashboard/overview', { cookie })).status).toBe(200);

    // A forged or altered cookie is nobody's.
    const forged = cookie.replace(/\.(.)/, (_m, c: string) => `.${c === 'A' ? 'B' : 'A'}`);
    expect((await get('/v1/admin/dashboard/overview', { cookie: forged })).status).toBe(401);
    const longer = cookie.replace(/=(\d+)\./, (_m, exp: string) => `=${Number(exp) + 86_400_000}.`);
    expect((await get('/v1/admin/dashboard/overview', { cookie: longer })).status).toBe(401);

    const out = await fetch(`${api.url}/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/^tally_admin=;.*Max-Age=0/);
  });

  it('sends a signed-in operator only to paths on this site', async () => {
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      expect((await signIn(ADMIN_TOKEN, next)).headers.get('location'), next).toBe('/');
    }
  });
});
