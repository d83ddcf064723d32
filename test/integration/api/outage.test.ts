import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../shared/config/index.js';
import { connectMongo, verifyLedger, type MongoConnection } from '../../../shared/store/index.js';
import { startTestServers, type TestServers } from '../../support/servers.js';
import { apiEnv, call, configOf, pay, startStack } from '../../support/api.js';

/**
 * Redis lost between a purchase's claim and its fold job: the request answers 503
 * `unavailable` instead of hanging, the claim stays durable, and once Redis is back (empty)
 * the shard owner folds the orphaned claim, so the purchase is neither lost nor doubled.
 */
describe('accounts API while Redis is away', () => {
  let servers: TestServers;
  let config: Config;
  let stack: Awaited<ReturnType<typeof startStack>>;
  let mongo: MongoConnection;

  beforeAll(async () => {
    servers = await startTestServers();
    config = configOf(servers, apiEnv(servers));
    stack = await startStack(config, servers);
    mongo = await connectMongo(servers.mongoUrl, config.mongoDb);
  });
  afterAll(async () => {
    await stack?.stop();
    await mongo?.close();
    await servers?.stop();
  });

  it('answers 503 unavailable, and the stored claim is folded once Redis returns', async () => {
    expect((await pay(stack.url, { payment_id: 'p-out', account_id: 'acct-out', amount_micros: 20_000_000, paid_at: '2026-01-01T00:00:00Z' })).status).toBe(200);
    await servers.kill('redis');
    const during = await call(stack.url, 'POST', '/v1/accounts/acct-out/plan', { body: { plan_id: 'basic' } });
    expect([during.status, during.body.error.code]).toEqual([503, 'unavailable']);
    expect((await call(stack.url, 'GET', '/readyz', { token: null })).body.error.code).toBe('unavailable');

    await servers.restart('redis', { wipe: true });
    await expect.poll(async () => (await call(stack.url, 'GET', '/readyz', { token: null })).status, { timeout: 30_000 }).toBe(200);
    // The claim plan:acct-out:1 is in the ledger, its job is gone: a tick's sweep folds it.
    await expect
      .poll(async () => (await call(stack.url, 'POST', '/v1/admin/ladder-tick', { body: {} })).body.complete, { timeout: 60_000, interval: 1000 })
      .toBe(true);
    expect(await (await call(stack.url, 'GET', '/v1/accounts/acct-out')).body).toMatchObject({ current_plan_id: 'basic', plan_seq: 1, balance_micros: 10_000_000 });
    expect((await call(stack.url, 'POST', '/v1/accounts/acct-out/plan', { body: { plan_id: 'basic' } })).body.error.code).toBe('plan_active');
    expect((await verifyLedger(mongo.db)).mismatches).toEqual([]);
  });
});
