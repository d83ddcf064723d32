import { verifyServed } from '../../support/stream.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Quoter } from '../../../shared/domain/index.js';
import { shardOf } from '../../../shared/queue/index.js';
import { sumShardLog } from '../../../shared/store/index.js';
import { listAccounts } from '../../../shared/store/internal.js';
import { startBridge } from '../../../services/bridge/main.js';
import { startWorker } from '../../../services/worker/main.js';
import { apiEnv, call, pay, useApiStack } from '../../support/api.js';
import { probe, type Probe } from '../../support/pipeline.js';
import { waitFor } from '../../support/processes.js';
import { publishAll, type RecordedLine } from '../../support/stream.js';
import { testLogger } from '../../support/servers.js';
import { usage } from '../../support/records.js';

const costing = (id: string, account: string, micros: number): RecordedLine => ({
  subject: `usage.${account}`,
  payload: JSON.stringify(usage(id, account, { kind: 'other', applies_to: 'hero_os_hourly', quantity: 1, cost_micros: micros })),
});

/**
 * Issue 16, item 3 (SPEC 3): a record is known by (account_id, id). One id on many
 * accounts that share shards is many records, and a record id that spells a ledger key
 * (`payment:<id>`, `plan:<account>:<n>`) neither hides nor is hidden by that entry.
 * Published without Nats-Msg-Id, so the shard owners' dedup is what decides.
 */
describe('the idempotency key is (account_id, id), in the pipeline (issue 16)', () => {
  const api = useApiStack((servers) => apiEnv(servers, { SHARDS: '4' }));
  let p: Probe;
  let bridge: Awaited<ReturnType<typeof startBridge>>;

  beforeAll(async () => {
    p = await probe(api.config, api.servers);
    bridge = await startBridge(api.config, api.servers, testLogger());
  });
  afterAll(async () => {
    await bridge?.stop();
    await p?.close();
  });

  /**
   * The shard log's totals once they reach `charged` and `duplicates`, for exact asserts.
   * Polled after the drain: a drain check right after a publish was seen to pass before
   * the bridge had the message.
   */
  const logTotals = async (charged: number, duplicates: number) => {
    await p.drained();
    await waitFor(
      async () => {
        const t = await sumShardLog(api.mongo.db);
        return t.charged >= charged && t.duplicates >= duplicates;
      },
      20_000,
      `${charged} charged and ${duplicates} duplicates in the log`,
    );
    return sumShardLog(api.mongo.db);
  };
  const balance = async (account: string): Promise<number> => (await call(api.stack.url, 'GET', `/v1/accounts/${account}`)).body.balance_micros as number;

  it('charges one record id used on 24 accounts 24 times, whichever shards they share', async () => {
    const accounts = Array.from({ length: 24 }, (_, i) => `acct-s${i}`);
    expect(new Set(accounts.map((a) => shardOf(a, 4))).size).toBeLessThan(accounts.length);
    const lines = accounts.map((a, i) => costing('same-id', a, 1000 + i));
    await publishAll(p.bus.js, lines, false);
    const totals = await logTotals(24, 0);
    expect([totals.charged, totals.duplicates]).toEqual([24, 0]);
    const quoter = new Quoter({ priceBook: api.config.priceBook, ladder: api.config.ladder, lateArrivalDays: api.config.lateArrivalDays });
    const quoted = lines.map((l) => quoter.quoteLine(JSON.stringify(l), Date.now()));
    expect(quoted.filter((q) => 'charge_micros' in q)).toHaveLength(24);
    const want = new Map(accounts.map((a, i) => [a, BigInt(-(1000 + i))]));
    await waitFor(
      async () => {
        const stored = new Map((await listAccounts(api.mongo.db)).map((a) => [a._id, a.balance_micros]));
        return accounts.every((a) => stored.get(a) === want.get(a));
      },
      20_000,
      'every account charged',
    );

    // A new owner rebuilds the records from the log (ids paired with their accounts): the same
    // pairs again are duplicates, on every account, and the id on a 25th account is charged.
    await api.stack.worker.stop();
    api.stack.worker = await startWorker(api.config, api.servers, testLogger());
    await publishAll(p.bus.js, [...lines, costing('same-id', 'acct-s24', 5)], false);
    const again = await logTotals(25, 24);
    expect([again.charged, again.duplicates]).toEqual([25, 24]);
  });

  it('charges a record whose id is a payment ledger key, and the payment stays credited once', async () => {
    const paid = await pay(api.stack.url, { payment_id: 'pay-x', account_id: 'acct-x', amount_micros: 5_000_000, paid_at: new Date().toISOString() });
    expect(paid.status).toBe(200);
    const before = await sumShardLog(api.mongo.db);
    await publishAll(p.bus.js, [costing('payment:pay-x', 'acct-x', 1000)], false);
    const after = await logTotals(before.charged + 1, before.duplicates);
    expect([after.charged - before.charged, after.duplicates - before.duplicates]).toEqual([1, 0]);
    await waitFor(async () => (await balance('acct-x')) === 4_999_000, 20_000, 'acct-x charged');

    const replay = await pay(api.stack.url, { payment_id: 'pay-x', account_id: 'acct-x', amount_micros: 5_000_000, paid_at: paid.body.account.first_paid_at });
    expect(replay.body).toMatchObject({ duplicate: true, folded: true });
    expect(await balance('acct-x')).toBe(4_999_000);
  });

  it('a record id plan:acct-v:1 does not stop the purchase plan:acct-v:1: 201, plan applied, debited', async () => {
    expect((await pay(api.stack.url, { payment_id: 'pay-v', account_id: 'acct-v', amount_micros: 20_000_000, paid_at: new Date().toISOString() })).status).toBe(
      200,
    );
    const before = await sumShardLog(api.mongo.db);
    await publishAll(p.bus.js, [costing('plan:acct-v:1', 'acct-v', 1000)], false);
    const after = await logTotals(before.charged + 1, before.duplicates);
    expect([after.charged - before.charged, after.duplicates - before.duplicates]).toEqual([1, 0]);
    await waitFor(async () => (await balance('acct-v')) === 19_999_000, 20_000, 'acct-v charged');

    const bought = await call(api.stack.url, 'POST', '/v1/accounts/acct-v/plan', { body: { plan_id: 'basic' } });
    expect(bought.status).toBe(201);
    expect(bought.body).toMatchObject({ folded: true, purchase: { entry_id: 'plan:acct-v:1', debit_micros: 10_000_000 } });
    const account = (await call(api.stack.url, 'GET', '/v1/accounts/acct-v')).body;
    expect(account).toMatchObject({ balance_micros: 9_999_000, current_plan_id: 'basic', plan_seq: 1, vm_quota_total: 5, vm_quota_used: 0 });
    await waitFor(async () => (await verifyServed(api.config, api.servers, api.mongo.db)).mismatches.length === 0, 20_000, 'ledger and projections agree');
  });
});
