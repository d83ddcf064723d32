import { describe, expect, it } from 'vitest';
import { verifyLedger } from '../../../shared/store/index.js';
import { call, pay, useApiStack } from '../../support/api.js';

/**
 * Redis lost between a purchase's claim and its fold job: the request answers 503
 * `unavailable` instead of hanging, the claim stays durable, and once Redis is back (empty)
 * the shard owner folds the orphaned claim, so the purchase is neither lost nor doubled.
 */
describe('accounts API while Redis is away', () => {
  const api = useApiStack();

  it('answers 503 unavailable, and the stored claim is folded once Redis returns', async () => {
    expect((await pay(api.stack.url, { payment_id: 'p-out', account_id: 'acct-out', amount_micros: 20_000_000, paid_at: '2026-01-01T00:00:00Z' })).status).toBe(200);
    await api.servers.kill('redis');
    const during = await call(api.stack.url, 'POST', '/v1/accounts/acct-out/plan', { body: { plan_id: 'basic' } });
    expect([during.status, during.body.error.code]).toEqual([503, 'unavailable']);
    expect((await call(api.stack.url, 'GET', '/readyz', { token: null })).body.error.code).toBe('unavailable');

    await api.servers.restart('redis', { wipe: true });
    await expect.poll(async () => (await call(api.stack.url, 'GET', '/readyz', { token: null })).status, { timeout: 30_000 }).toBe(200);
    // The claim plan:acct-out:1 is in the ledger, its job is gone: a tick's sweep folds it.
    await expect
      .poll(async () => (await call(api.stack.url, 'POST', '/v1/admin/ladder-tick', { body: {} })).body.complete, { timeout: 60_000, interval: 1000 })
      .toBe(true);
    expect(await (await call(api.stack.url, 'GET', '/v1/accounts/acct-out')).body).toMatchObject({ current_plan_id: 'basic', plan_seq: 1, balance_micros: 10_000_000 });
    expect((await call(api.stack.url, 'POST', '/v1/accounts/acct-out/plan', { body: { plan_id: 'basic' } })).body.error.code).toBe('plan_active');
    expect((await verifyLedger(api.mongo.db)).mismatches).toEqual([]);
  });
});
