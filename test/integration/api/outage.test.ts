import { verifyServed } from '../../support/stream.js';
import { describe, expect, it } from 'vitest';
import { call, pay, useApiStack } from '../../support/api.js';

/**
 * Redis away during a purchase: the request answers 503 `unavailable` instead of hanging
 * (the account read, from the read model in Redis, fails before any claim is stored), and
 * once Redis is back (empty) the owners write their read models again and the same
 * purchase goes through once. A claim orphaned between its insert and its fold job is
 * healed by the next owner's sweep (webhook.test.ts).
 */
describe('accounts API while Redis is away', () => {
  const api = useApiStack();

  it('answers 503 unavailable, and the stored claim is folded once Redis returns', async () => {
    expect((await pay(api.stack.url, { payment_id: 'p-out', account_id: 'acct-out', amount_micros: 20_000_000, paid_at: '2026-01-01T00:00:00Z' })).status).toBe(
      200,
    );
    await api.servers.kill('redis');
    const during = await call(api.stack.url, 'POST', '/v1/accounts/acct-out/plan', { body: { plan_id: 'basic' } });
    expect([during.status, during.body.error.code]).toEqual([503, 'unavailable']);
    // /readyz is open: it names what is down, never an error's text (no host, port or URL).
    const notReady = await call(api.stack.url, 'GET', '/readyz', { token: null });
    expect([notReady.status, notReady.body.error.code, notReady.body.ready, notReady.body.down]).toEqual([503, 'unavailable', false, ['redis']]);
    expect(notReady.body.checks).toMatchObject({ redis: 'down', mongodb: 'ok', nats: 'ok' });
    expect(JSON.stringify(notReady.body)).not.toMatch(/127\.0\.0\.1|localhost|:\/\/|ECONNREFUSED|\d{4,5}/);

    await api.servers.restart('redis', { wipe: true });
    await expect.poll(async () => (await call(api.stack.url, 'GET', '/readyz', { token: null })).status, { timeout: 30_000 }).toBe(200);
    await expect
      .poll(async () => (await call(api.stack.url, 'POST', '/v1/accounts/acct-out/plan', { body: { plan_id: 'basic' } })).status, {
        timeout: 60_000,
        interval: 1000,
      })
      .toBe(201);
    expect(await (await call(api.stack.url, 'GET', '/v1/accounts/acct-out')).body).toMatchObject({
      current_plan_id: 'basic',
      plan_seq: 1,
      balance_micros: 10_000_000,
    });
    expect((await call(api.stack.url, 'POST', '/v1/accounts/acct-out/plan', { body: { plan_id: 'basic' } })).body.error.code).toBe('plan_active');
    expect((await verifyServed(api.config, api.servers, api.mongo.db)).mismatches).toEqual([]);
  });
});
