import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApi, type RunningApi } from '../../../services/api/index.js';
import { testLogger } from '../../support/servers.js';
import { apiEnv, call, configOf, pay } from '../../support/api.js';

/**
 * Rate limits of the account and webhook routes and the account page (@fastify/rate-limit,
 * Redis store): per key after authentication, per IP before it; over either is 429
 * `rate_limited` with retry-after. Two API processes count together (one Redis).
 */
describe('rate limits', () => {
  const servers = inject('servers');
  let apis: RunningApi[] = [];

  beforeAll(async () => {
    const config = configOf(servers, apiEnv(servers, { RATE_LIMIT_KEY_PER_MINUTE: '3', RATE_LIMIT_IP_PER_MINUTE: '8' }));
    apis = await Promise.all([0, 1].map(() => startApi({ ...config, httpPort: 0 }, servers, testLogger())));
  });
  afterAll(async () => {
    await Promise.all(apis.map((a) => a.stop()));
  });

  it('answers 429 rate_limited past the per-key limit, then past the per-IP limit, across processes', async () => {
    const [a, b] = [apis[0]!.url, apis[1]!.url];
    // Admin routes are not limited: creating keys spends nothing.
    const key = (await call(a, 'POST', '/v1/admin/accounts/acct-rl/keys')).body.key as string;
    const other = (await call(a, 'POST', '/v1/admin/accounts/acct-rl/keys')).body.key as string;
    for (const url of [a, b, a]) expect((await call(url, 'GET', '/v1/accounts/acct-rl', { token: key })).body.error.code).toBe('account_not_found');
    const limited = await fetch(`${b}/v1/accounts/acct-rl`, { headers: { authorization: `Bearer ${key}` } });
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another key of the same account has its own budget; the IP budget (8) is shared: 4 spent so far.
    for (const url of [a, b]) expect((await call(url, 'GET', '/v1/accounts/acct-rl', { token: other })).status).toBe(404);
    for (const url of [a, b]) expect((await call(url, 'GET', '/v1/accounts/acct-rl')).status).toBe(404);
    // The IP limit counts before authentication: unsigned webhooks, admin calls, sign-in attempts.
    const webhook = await pay(a, { payment_id: 'p-rl', account_id: 'acct-rl', amount_micros: 1, paid_at: '2026-01-01T00:00:00Z' }, 'sha256=00');
    expect([webhook.status, webhook.body.error.code]).toEqual([429, 'rate_limited']);
    expect((await call(b, 'GET', '/v1/accounts/acct-rl')).body.error.code).toBe('rate_limited');
    const login = await fetch(`${b}/account/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `key=${key}`,
    });
    expect(login.headers.get('location')).toBe('/account/login?error=rate_limited');
  });
});
