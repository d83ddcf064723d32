import { verifyServed } from '../../support/stream.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../shared/config/index.js';
import { connectMongo, listAllocations, type MongoConnection } from '../../../shared/store/index.js';
import { startWorker } from '../../../services/worker/main.js';
import { startTestServers, testLogger, type TestServers } from '../../support/servers.js';
import { apiEnv, call, configOf, pay, spawnApi, type Answer, type ApiProcess } from '../../support/api.js';

/**
 * SPEC 7's atomicity promises against the embedded FerretDB, where no update is atomic,
 * with the requests spread over three `tally api` processes: every guarantee here rests on
 * unique-key inserts (claims), never on an update.
 */
describe('accounts API under concurrency, three API processes', () => {
  let servers: TestServers;
  let config: Config;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let apis: ApiProcess[] = [];
  let mongo: MongoConnection;

  beforeAll(async () => {
    servers = await startTestServers();
    const env = apiEnv(servers);
    config = configOf(servers, env);
    worker = await startWorker(config, servers, testLogger());
    apis = await Promise.all([spawnApi(env), spawnApi(env), spawnApi(env)]);
    mongo = await connectMongo(servers.mongoUrl, config.mongoDb);
  });
  afterAll(async () => {
    await Promise.all(apis.map((a) => a.stop()));
    await worker?.stop();
    await mongo?.close();
    await servers?.stop();
  });

  /** Request i goes to process i mod 3. */
  const url = (i: number): string => apis[i % apis.length]!.url;
  const codes = (answers: Answer[]): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const a of answers) {
      const key = a.status < 300 ? String(a.status) : a.body.error.code;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  };

  it('the same payment posted 9 times at once credits once', async () => {
    const p = { payment_id: 'p-race', account_id: 'acct-race', amount_micros: 100_000_000, paid_at: '2026-06-01T00:00:00Z' };
    const answers = await Promise.all(Array.from({ length: 9 }, (_, i) => pay(url(i), p)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.filter((a) => a.body.duplicate === false)).toHaveLength(1);
    expect((await call(url(0), 'GET', '/v1/accounts/acct-race')).body.balance_micros).toBe(100_000_000);
  });

  it('8 parallel purchases: exactly one succeeds, the others get plan_active, one debit', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => call(url(i), 'POST', '/v1/accounts/acct-race/plan', { body: { plan_id: i % 2 === 0 ? 'basic' : 'pro' } })),
    );
    expect(codes(answers)).toEqual({ '201': 1, plan_active: 7 });
    const won = answers.find((a) => a.status === 201)!;
    const plan = won.body.purchase.plan_id as 'basic' | 'pro';
    const price = plan === 'basic' ? 10_000_000 : 20_000_000;
    const account = (await call(url(1), 'GET', '/v1/accounts/acct-race')).body;
    expect(account).toMatchObject({
      balance_micros: 100_000_000 - price,
      current_plan_id: plan,
      plan_seq: 1,
      vm_quota_used: 0,
      vm_quota_total: plan === 'basic' ? 5 : 10,
    });
  });

  it('12 parallel allocations against quota 5: exactly 5 succeed, the rest quota_exhausted', async () => {
    await pay(url(0), { payment_id: 'p-vm', account_id: 'acct-vm', amount_micros: 10_000_000, paid_at: '2026-06-01T00:00:00Z' });
    expect((await call(url(0), 'POST', '/v1/accounts/acct-vm/plan', { body: { plan_id: 'basic' } })).status).toBe(201);
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => call(url(i), 'POST', '/v1/accounts/acct-vm/vms')));
    expect(codes(answers)).toEqual({ '201': 5, quota_exhausted: 7 });
    const slots = answers
      .filter((a) => a.status === 201)
      .map((a) => a.body.allocation.slot)
      .sort();
    expect(slots).toEqual([1, 2, 3, 4, 5]);
    for (const a of answers.filter((x) => x.status === 201)) {
      expect(a.body.allocation).toMatchObject({ plan_id: 'basic', status: 'active', audit_cost_micros: 2_000_000 });
      expect(a.body.allocation.expires_at).toBe(a.body.account.vm_quota_period_end);
    }
    const account = (await call(url(2), 'GET', '/v1/accounts/acct-vm')).body;
    expect(account).toMatchObject({ vm_quota_total: 5, vm_quota_used: 5, balance_micros: 0 });
    expect(await listAllocations(mongo.db, 'acct-vm')).toHaveLength(5);
    const listed = (await call(url(1), 'GET', '/v1/accounts/acct-vm/allocations')).body.allocations;
    expect(listed.map((a: { slot: number }) => a.slot)).toEqual([5, 4, 3, 2, 1]);
    const pages: number[][] = [];
    for (let after: string | null = ''; after !== null;) {
      const page: { allocations: { slot: number }[]; next: string | null } = (
        await call(url(1), 'GET', `/v1/accounts/acct-vm/allocations?limit=2${after ? `&after=${encodeURIComponent(after)}` : ''}`)
      ).body;
      pages.push(page.allocations.map((a) => a.slot));
      after = page.next;
    }
    expect(pages).toEqual([[5, 4], [3, 2], [1]]);
    expect((await call(url(1), 'GET', '/v1/accounts/acct-vm/allocations?after=vm:acct-other:1:2')).body.error.code).toBe('invalid_request');
    expect((await call(url(0), 'POST', '/v1/accounts/acct-vm/vms')).body.error.code).toBe('quota_exhausted');
  });

  it('a purchase never takes the balance below zero by itself: one plan of two affordable at once', async () => {
    await pay(url(0), { payment_id: 'p-thin', account_id: 'acct-thin', amount_micros: 15_000_000, paid_at: '2026-06-01T00:00:00Z' });
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => call(url(i), 'POST', '/v1/accounts/acct-thin/plan', { body: { plan_id: 'basic' } })));
    expect(codes(answers)).toEqual({ '201': 1, plan_active: 5 });
    expect((await call(url(0), 'GET', '/v1/accounts/acct-thin')).body.balance_micros).toBe(5_000_000);
  });

  it('balance == sum(ledger) for every account once quiet, and the ledger view shows each change', async () => {
    const { mismatches, accounts } = await verifyServed(config, servers, mongo.db);
    expect(mismatches).toEqual([]);
    expect(accounts).toBe(3);
    const ledger = (await call(url(0), 'GET', '/v1/accounts/acct-vm/ledger')).body;
    expect(
      ledger.entries.map((e: { kind: string; amount_micros: number; balance_after_micros: number }) => [e.kind, e.amount_micros, e.balance_after_micros]),
    ).toEqual([
      ['plan_purchase', -10_000_000, 0],
      ['payment', 10_000_000, 10_000_000],
    ]);
  });
});
