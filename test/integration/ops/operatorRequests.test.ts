import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { redisGroup } from '../../../shared/redis/index.js';
import { startApi, type RunningApi } from '../../../services/api/index.js';
import { testLogger } from '../../support/servers.js';
import { ADMIN_TOKEN, apiEnv, call, configOf } from '../../support/api.js';

const EVIL = 'https://evil.example';

/**
 * Issue 27 §2 (SPEC 14), against a real API on Redis: the Origin check of state-changing
 * requests a cookie can make, the atomic count of refused sign-ins, and TRUST_PROXY.
 */
describe('operator requests', () => {
  const servers = inject('servers');
  const apis: RunningApi[] = [];
  /** An API with its own Redis namespace (its own sign-in counters). */
  const api = async (env: Record<string, string> = {}): Promise<string> => {
    const running = await startApi({ ...configOf(servers, apiEnv(servers, env)), httpPort: 0 }, servers, testLogger());
    apis.push(running);
    return running.url;
  };
  afterAll(async () => {
    await Promise.all(apis.map((a) => a.stop()));
  });

  const form = (url: string, path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual', headers });
  const cookieOf = (res: Response): string => (res.headers.get('set-cookie') ?? '').split(';')[0]!;

  describe('Origin', () => {
    let url: string;
    beforeAll(async () => {
      url = await api();
    });

    it('a cross-site sign-in form is 403 forbidden_origin; the same origin, or none (curl), signs in', async () => {
      const cross = await form(url, '/login', { token: ADMIN_TOKEN }, { origin: EVIL });
      expect([cross.status, ((await cross.json()) as { error: { code: string } }).error.code]).toEqual([403, 'forbidden_origin']);
      expect(cross.headers.get('set-cookie')).toBeNull();
      expect((await form(url, '/login', { token: ADMIN_TOKEN }, { referer: `${EVIL}/page` })).status).toBe(403);
      expect((await form(url, '/login', { token: ADMIN_TOKEN }, { origin: 'null' })).status).toBe(403);
      expect((await form(url, '/login', { token: ADMIN_TOKEN }, { origin: url })).status).toBe(303);
      expect((await form(url, '/login', { token: ADMIN_TOKEN }, { referer: `${url}/login` })).status).toBe(303);
      expect((await form(url, '/login', { token: ADMIN_TOKEN })).status).toBe(303);
    });

    it('a re-drive with the session cookie from another site is 403; from the page, 400 until it selects; with Bearer and no Origin it passes the check', async () => {
      const session = cookieOf(await form(url, '/login', { token: ADMIN_TOKEN }, { origin: url }));
      expect(session).toMatch(/^tally_admin=/);
      const post = (headers: Record<string, string>, token: string | null) => call(url, 'POST', '/v1/admin/dead-letters/redrive', { body: {}, token, headers });
      expect(await post({ cookie: session, origin: EVIL }, null)).toMatchObject({ status: 403, body: { error: { code: 'forbidden_origin' } } });
      // A Bearer header does not excuse a cookie that rides along from another site.
      expect((await post({ cookie: session, origin: EVIL }, ADMIN_TOKEN)).status).toBe(403);
      expect(await post({ cookie: session, origin: url }, null)).toMatchObject({ status: 400, body: { error: { code: 'selection_required' } } });
      expect(await post({}, ADMIN_TOKEN)).toMatchObject({ status: 400, body: { error: { code: 'selection_required' } } });
      // An operator route refuses another site even with a Bearer token and no cookie; a
      // script (curl, the CLI) sends no Origin, and the dashboard sends its own.
      expect(await post({ origin: EVIL }, ADMIN_TOKEN)).toMatchObject({ status: 403, body: { error: { code: 'forbidden_origin' } } });
      expect((await post({ origin: url }, ADMIN_TOKEN)).status).toBe(400);
      // Off the operator routes a Bearer-only request is not CSRF-able: a producer's browser
      // extension posts usage from its own origin.
      const ingest = await call(url, 'POST', '/v1/usage', { body: [], token: ADMIN_TOKEN, headers: { origin: 'chrome-extension://abcdef' } });
      expect(ingest).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
      expect((await form(url, '/logout', {}, { cookie: session, origin: EVIL })).status).toBe(403);
      expect((await form(url, '/logout', {}, { cookie: session, origin: url })).status).toBe(303);
    });

    it('the account page: cross-site sign-in and purchase are 403, same-origin ones work', async () => {
      const key = (await call(url, 'POST', '/v1/admin/accounts/acct-origin/keys')).body.key as string;
      expect((await form(url, '/account/login', { key }, { origin: EVIL })).status).toBe(403);
      const signedIn = await form(url, '/account/login', { key }, { origin: url });
      expect([signedIn.status, signedIn.headers.get('location')]).toEqual([303, '/account']);
      const session = cookieOf(signedIn);
      const plan = await form(url, '/account/plan', { plan_id: 'basic' }, { cookie: session, origin: EVIL });
      expect([plan.status, ((await plan.json()) as { error: { code: string } }).error.code]).toEqual([403, 'forbidden_origin']);
      expect((await form(url, '/account/vms', {}, { cookie: session, referer: `${EVIL}/x` })).status).toBe(403);
      const same = await form(url, '/account/plan', { plan_id: 'basic' }, { cookie: session, origin: url });
      // Same origin: the purchase runs (the account has no money: the page says why), it is not refused.
      expect(same.status).toBe(303);
      expect(same.headers.get('location')).toMatch(/^\/account\?error=(insufficient_balance|account_not_found)$/);
      expect((await form(url, '/account/logout', {}, { cookie: session, origin: EVIL })).status).toBe(403);
    });
  });

  // The account routes ask for their slot in an onRequest hook, beside the address limit (issue 29).
  it.each(['/v1/admin/ticks', '/v1/accounts/acct-x/usage'])(
    '40 parallel wrong tokens from one address on %s: at most RATE_LIMIT_AUTH_FAILURES_PER_MINUTE (10) are 401, the rest 429',
    async (path) => {
      const url = await api({ RATE_LIMIT_PAUSE_MS: '0' });
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => call(url, 'GET', path, { token: `wrong-token-number-${i}` })));
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
      expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(10);
      expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(0);
      // The budget is spent: the right token is refused too, for the rest of the minute.
      expect((await call(url, 'GET', path)).status).toBe(429);
    },
  );

  it('parallel sign-ins with the right token all pass: a slot held while verifying is no refusal', async () => {
    const url = await api({ RATE_LIMIT_PAUSE_MS: '0' });
    const answers = await Promise.all(Array.from({ length: 40 }, () => call(url, 'GET', '/v1/admin/ticks')));
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(200));
  });

  describe('account reads: the sign-in slot asked for beside the address limit (issue 29)', () => {
    it('a slot asked for by a request the address limit refused is freed, and nothing is counted as refused', async () => {
      const namespace = `rl${Date.now().toString(36)}`;
      const url = await api({ RATE_LIMIT_PAUSE_MS: '0', RATE_LIMIT_IP_PER_MINUTE: '5', MONGO_DB: namespace });
      const answers = await Promise.all(Array.from({ length: 20 }, () => call(url, 'GET', '/v1/accounts/acct-x')));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([...Array(5).fill(404), ...Array(15).fill(429)]);
      const redis = new Redis(servers.redisUrl);
      try {
        const keys = async () => redis.keys(`${redisGroup(namespace, 'rl', 'signin', '*')}*`);
        // Freed after the answers went out (not awaited by them): the slots' key reads 0.
        expect((await keys()).length).toBeGreaterThan(0);
        await expect
          .poll(async () => Promise.all((await keys()).map((k) => redis.get(k))), { timeout: 5000 })
          .toSatisfy((v: (string | null)[]) => v.every((x) => x === '0' || x === null));
        expect((await keys()).filter((k) => k.endsWith(':refused'))).toEqual([]);
      } finally {
        redis.disconnect();
      }
    });
  });

  describe('TRUST_PROXY', () => {
    const spend = async (url: string, xff: string) => {
      for (let i = 0; i < 10; i++)
        expect((await call(url, 'GET', '/v1/admin/ticks', { token: `wrong-${i}-xxxxxxxxxx`, headers: { 'x-forwarded-for': xff } })).status).toBe(401);
      expect((await call(url, 'GET', '/v1/admin/ticks', { token: 'wrong-last-xxxxxxxxxx', headers: { 'x-forwarded-for': xff } })).status).toBe(429);
    };

    it('behind a trusted proxy, two clients with different X-Forwarded-For do not lock each other out', async () => {
      const url = await api({ TRUST_PROXY: '127.0.0.1/32', RATE_LIMIT_PAUSE_MS: '0' });
      await spend(url, '198.51.100.7');
      expect((await call(url, 'GET', '/v1/admin/ticks', { headers: { 'x-forwarded-for': '198.51.100.7' } })).status).toBe(429);
      expect((await call(url, 'GET', '/v1/admin/ticks', { headers: { 'x-forwarded-for': '198.51.100.8' } })).status).toBe(200);
      expect((await call(url, 'GET', '/v1/admin/ticks', { token: 'wrong-other-xxxxxxxx', headers: { 'x-forwarded-for': '198.51.100.8' } })).status).toBe(401);
    });

    it('unset, or a peer it does not name, X-Forwarded-For is ignored: the peer address is counted', async () => {
      for (const env of [{}, { TRUST_PROXY: '10.0.0.0/8' }] as Record<string, string>[]) {
        const url = await api({ ...env, RATE_LIMIT_PAUSE_MS: '0' });
        await spend(url, '198.51.100.7');
        // Another forwarded address changes nothing: the peer (127.0.0.1) spent its budget.
        expect((await call(url, 'GET', '/v1/admin/ticks', { headers: { 'x-forwarded-for': '198.51.100.8' } })).status).toBe(429);
      }
    });
  });
});
