import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApi, type RunningApi } from '../../../services/api/index.js';
import { testLogger } from '../../support/servers.js';
import { ADMIN_TOKEN, apiEnv, call, configOf } from '../../support/api.js';

/**
 * Issue 16 item 7: the admin token could be guessed at request rate on POST /login and the
 * admin routes. Refused sign-ins are limited per address (RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
 * 10): within the budget the right token works; past it every sign-in is 429, the right
 * one too, so a guess learns nothing. Counted in Redis, across API processes.
 */
describe('refused sign-ins per address', () => {
  const servers = inject('servers');
  let apis: RunningApi[] = [];

  beforeAll(async () => {
    const config = configOf(servers, apiEnv(servers));
    apis = await Promise.all([0, 1].map(() => startApi({ ...config, httpPort: 0 }, servers, testLogger())));
  });
  afterAll(async () => {
    await Promise.all(apis.map((a) => a.stop()));
  });

  const signIn = (url: string, token: string) => fetch(`${url}/login`, { method: 'POST', body: new URLSearchParams({ token, next: '/' }), redirect: 'manual' });

  it('the 11th wrong sign-in in a minute is 429 rate_limited; the right token works until then', async () => {
    const [a, b] = [apis[0]!.url, apis[1]!.url];
    for (let i = 0; i < 5; i++) expect((await signIn(i % 2 ? a : b, `wrong-token-number-${i}`)).status).toBe(401);
    // Not signed in is no guess: pages and JSON without credentials do not spend the budget.
    for (let i = 0; i < 15; i++) expect((await fetch(`${a}/v1/admin/dashboard/overview`)).status).toBe(401);
    expect((await signIn(a, ADMIN_TOKEN)).status).toBe(303);
    expect((await call(b, 'GET', '/v1/admin/ticks')).status).toBe(200);
    // A wrong admin token on the admin routes counts like a wrong sign-in.
    for (let i = 5; i < 10; i++) expect((await call(i % 2 ? a : b, 'GET', '/v1/admin/ticks', { token: `wrong-token-number-${i}` })).status).toBe(401);

    const eleventh = await signIn(b, 'wrong-token-number-10');
    expect(eleventh.status).toBe(429);
    expect(Number(eleventh.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await eleventh.text()).toMatch(/more than 10 refused sign-ins a minute/);
    expect((await signIn(a, ADMIN_TOKEN)).status).toBe(429);
    for (const token of [ADMIN_TOKEN, 'wrong-token-number-11']) {
      const answer = await call(a, 'POST', '/v1/admin/accounts/acct-x/keys', { token });
      expect([answer.status, answer.body.error.code]).toEqual([429, 'rate_limited']);
    }
    expect((await call(b, 'GET', '/v1/accounts/acct-x', { token: ADMIN_TOKEN })).body.error.code).toBe('rate_limited');
  });
});
