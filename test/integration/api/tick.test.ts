import { verifyServed } from '../../support/stream.js';
import { execFile } from 'node:child_process';
import { Redis } from 'ioredis';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../../shared/domain/index.js';
import type { TickDoc } from '../../../shared/store/index.js';
import { COLLECTIONS } from '../../../shared/store/internal.js';
import { startScheduler } from '../../../services/scheduler/index.js';
import { SCHEDULER_QUEUE, queueAddress } from '../../../shared/queue/index.js';
import { testLogger } from '../../support/servers.js';
import { call, pay, useApiStack } from '../../support/api.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The ladder tick and quota expiry (SPEC 5, 8) with an injected clock: the tick's `now`
 * comes from the admin route's body or the CLI's --now.
 */
describe('ladder tick', () => {
  const api = useApiStack();

  const tick = (now: number, token?: string) =>
    call(api.stack.url, 'POST', '/v1/admin/ladder-tick', { body: { now: new Date(now).toISOString() }, ...(token !== undefined ? { token } : {}) });
  const account = async (id: string) => (await call(api.stack.url, 'GET', `/v1/accounts/${id}`)).body;
  const T0 = Date.parse('2026-01-01T00:00:00Z');

  it('needs the admin token: none or a wrong one is 401 unauthorized', async () => {
    expect((await call(api.stack.url, 'POST', '/v1/admin/ladder-tick', { token: null })).body.error.code).toBe('unauthorized');
    const wrong = await tick(T0, 'not-the-admin-token-at-all');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('unauthorized');
  });

  it('moves an account to week at 7 days and month at 30 days of tenure, recording each transition once', async () => {
    await pay(api.stack.url, { payment_id: 'p-tier', account_id: 'acct-tier', amount_micros: 1_000_000, paid_at: new Date(T0).toISOString() });
    expect((await account('acct-tier')).discount_tier).toBe('none');
    const steps: [number, string, number][] = [
      [7 * DAY_MS - 1, 'none', 0],
      [7 * DAY_MS, 'week', 1],
      [29 * DAY_MS, 'week', 0],
      [30 * DAY_MS, 'month', 1],
      [30 * DAY_MS, 'month', 0],
    ];
    for (const [offset, tier, changes] of steps) {
      const report = (await tick(T0 + offset)).body;
      expect(report).toMatchObject({ complete: true, shards: 4, shards_done: 4, tier_changes: changes, accounts: 1 });
      expect((await account('acct-tier')).discount_tier).toBe(tier);
    }
    const transitions = (await call(api.stack.url, 'GET', '/v1/admin/accounts/acct-tier/tiers')).body.transitions;
    expect(transitions.map((t: { from: string; to: string; at: string }) => [t.from, t.to, t.at])).toEqual([
      ['none', 'week', new Date(T0 + 7 * DAY_MS).toISOString()],
      ['week', 'month', new Date(T0 + 30 * DAY_MS).toISOString()],
    ]);
  });

  it('expires a plan at its period end: plan cleared, quota zeroed, allocations expired; a new plan can be bought', async () => {
    const now = Date.now();
    await pay(api.stack.url, { payment_id: 'p-exp', account_id: 'acct-exp', amount_micros: 20_000_000, paid_at: new Date(now).toISOString() });
    const bought = await call(api.stack.url, 'POST', '/v1/accounts/acct-exp/plan', { body: { plan_id: 'basic' } });
    expect(bought.status).toBe(201);
    const periodEnd = Date.parse(bought.body.account.vm_quota_period_end);
    for (let i = 0; i < 2; i++) expect((await call(api.stack.url, 'POST', '/v1/accounts/acct-exp/vms')).status).toBe(201);

    const before = (await tick(periodEnd - 1)).body;
    expect(before.plans_expired).toBe(0);
    expect((await account('acct-exp')).current_plan_id).toBe('basic');

    const at = (await tick(periodEnd)).body;
    expect(at).toMatchObject({ complete: true, plans_expired: 1, allocations_expired: 2 });
    expect(await account('acct-exp')).toMatchObject({ current_plan_id: null, vm_quota_total: 0, vm_quota_used: 0, vm_quota_period_end: null, plan_seq: 1 });
    const allocations = (await call(api.stack.url, 'GET', '/v1/accounts/acct-exp/allocations')).body.allocations;
    expect(allocations.map((a: { status: string }) => a.status)).toEqual(['expired', 'expired']);
    expect((await tick(periodEnd)).body).toMatchObject({ plans_expired: 0, allocations_expired: 0 });

    expect((await call(api.stack.url, 'POST', '/v1/accounts/acct-exp/vms')).body.error.code).toBe('no_active_plan');
    const again = await call(api.stack.url, 'POST', '/v1/accounts/acct-exp/plan', { body: { plan_id: 'basic' } });
    expect(again.status).toBe(201);
    expect(again.body.account).toMatchObject({ plan_seq: 2, current_plan_id: 'basic', vm_quota_used: 0, balance_micros: 0 });
    expect((await call(api.stack.url, 'POST', '/v1/accounts/acct-exp/vms')).body.allocation.slot).toBe(1);
  });

  it('two ticks at once (admin route and `tally ladder-tick --once`) change each account once', async () => {
    const X = Date.now() + 400 * DAY_MS;
    for (let i = 0; i < 5; i++) {
      await pay(api.stack.url, { payment_id: `p-c${i}`, account_id: `acct-c${i}`, amount_micros: 1_000_000, paid_at: new Date(X).toISOString() });
    }
    const at = new Date(X + 8 * DAY_MS).toISOString();
    const [viaApi, viaCli] = await Promise.all([
      call(api.stack.url, 'POST', '/v1/admin/ladder-tick', { body: { now: at } }),
      run(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', 'ladder-tick', '--once', '--now', at], {
        cwd: REPO,
        env: { ...process.env, ...api.env },
      }),
    ]);
    const cli = JSON.parse(viaCli.stdout.trim());
    expect(viaApi.body.complete && cli.complete).toBe(true);
    expect(cli.source).toBe('cli');
    // acct-exp's second plan ends before X: exactly one of the two ticks expires it.
    expect(viaApi.body.tier_changes + cli.tier_changes).toBe(5);
    expect(viaApi.body.plans_expired + cli.plans_expired).toBe(1);
    for (let i = 0; i < 5; i++) expect((await account(`acct-c${i}`)).discount_tier).toBe('week');
    expect(
      await api.mongo.db
        .collection(COLLECTIONS.tierTransitions)
        .countDocuments({ account_id: { $in: ['acct-c0', 'acct-c1', 'acct-c2', 'acct-c3', 'acct-c4'] } }),
    ).toBe(5);
    const history = (await call(api.stack.url, 'GET', '/v1/admin/ticks?limit=100')).body.ticks;
    expect(history.map((t: { tick_id: string }) => t.tick_id)).toEqual(expect.arrayContaining([viaApi.body.tick_id, cli.tick_id]));
    expect((await verifyServed(api.config, api.servers, api.mongo.db)).mismatches).toEqual([]);
  });

  it('the scheduler runs the tick every LADDER_TICK_INTERVAL_MS and records it', async () => {
    const scheduler = await startScheduler({ ...api.config, ladderTickIntervalMs: 1000 }, api.servers, testLogger());
    try {
      await expect
        .poll(() => api.mongo.db.collection<TickDoc>(COLLECTIONS.ticks).countDocuments({ source: 'scheduler', complete: true }), {
          timeout: 20_000,
          interval: 250,
        })
        .toBeGreaterThanOrEqual(2);
    } finally {
      await scheduler.stop();
    }
  });

  it('the scheduler registers its job scheduler again after Redis loses it, and the tick resumes', async () => {
    const scheduler = await startScheduler({ ...api.config, ladderTickIntervalMs: 1000 }, api.servers, testLogger(), { recheckMs: 500 });
    const redis = new Redis(api.servers.redisUrl);
    const ticksSince = (at: Date) =>
      api.mongo.db.collection<TickDoc>(COLLECTIONS.ticks).countDocuments({ source: 'scheduler', complete: true, started_at: { $gt: at } });
    try {
      await expect.poll(() => ticksSince(new Date(0)), { timeout: 20_000, interval: 250 }).toBeGreaterThanOrEqual(1);
      // What a Redis restarted empty leaves of the scheduler's queue: nothing.
      const { name, prefix } = queueAddress(api.config.mongoDb, SCHEDULER_QUEUE);
      const keys = await redis.keys(`${prefix}:${name}:*`);
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
      const wiped = new Date();
      // A job fetched just before the wipe may still start one tick; two need the scheduler back.
      await expect.poll(() => ticksSince(wiped), { timeout: 20_000, interval: 250 }).toBeGreaterThanOrEqual(2);
    } finally {
      redis.disconnect();
      await scheduler.stop();
    }
  });
});
