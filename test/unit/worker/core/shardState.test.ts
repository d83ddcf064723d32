import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeAccounts,
  DEFAULT_LADDER,
  DEFAULT_PRICE_BOOK,
  deltasOf,
  forEachRecord,
  recordKey,
  unpackRecords,
  type ShardLogDoc,
  type ShardSnapshot,
  type UsageRecord,
} from '../../../../shared/domain/index.js';
import { ShardState, type PricingContext } from '../../../../services/worker/core/shardState.js';

const ctx: PricingContext = { priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lowBalanceMicros: 1_000_000n, lateArrivalDays: 35 };
const T0 = Date.parse('2026-11-01T00:00:00Z');
const empty = (): ShardSnapshot => ({ seq: 0, checkpoint: 0, accounts: [], tail: [], horizon: [] });

/** A record costing exactly `cost` micros (cost_micros bypasses the price book, so the arithmetic is visible). */
function rec(id: string, accountId: string, cost: bigint, occurredAt = T0): UsageRecord {
  return { id, accountId, kind: 'other', quantity: 1_000_000n, appliesTo: 'hero_os_hourly', occurredAt, costMicros: cost, meta: null };
}

function run(state: ShardState, batches: UsageRecord[][], now = T0): ShardLogDoc[] {
  const log: ShardLogDoc[] = [];
  for (const [i, batch] of batches.entries()) {
    const planned = state.planUsage(batch, `job-${i}`, now);
    if (planned.charged === 0 && planned.duplicates === 0) continue;
    state.apply(planned.doc);
    log.push(planned.doc);
  }
  return log;
}

describe('ShardState', () => {
  it('planning a batch changes nothing until the entry is applied', () => {
    const { state } = ShardState.fromSnapshot(0, empty(), ctx);
    const planned = state.planUsage([rec('r1', 'a', 5n)], 'j', T0);
    expect(planned.doc._id).toBe('0:1');
    expect(state.seq).toBe(0);
    expect(state.getAccount('a')).toBeUndefined();
    state.apply(planned.doc);
    expect(state.seq).toBe(1);
    expect(state.getAccount('a')?.balance_micros).toBe(-5n);
  });

  it('charges a repeated id once, within a batch and across batches', () => {
    const { state } = ShardState.fromSnapshot(0, empty(), ctx);
    const first = state.planUsage([rec('r1', 'a', 7n), rec('r1', 'a', 7n)], 'j1', T0);
    expect([first.charged, first.duplicates]).toEqual([1, 1]);
    state.apply(first.doc);
    const second = state.planUsage([rec('r1', 'a', 7n), rec('r2', 'a', 3n)], 'j2', T0);
    expect([second.charged, second.duplicates]).toEqual([1, 1]);
    state.apply(second.doc);
    expect(state.getAccount('a')?.balance_micros).toBe(-10n);
  });

  it('keys records by (account, id): one id on two accounts of a shard is two records (issue 16)', () => {
    const { state } = ShardState.fromSnapshot(0, empty(), ctx);
    const first = state.planUsage([rec('r1', 'a', 5n), rec('r1', 'b', 7n), rec('r1', 'a', 5n)], 'j1', T0);
    expect([first.charged, first.duplicates]).toEqual([2, 1]);
    state.apply(first.doc);
    const again = state.planUsage([rec('r1', 'b', 7n), rec('r1', 'c', 1n)], 'j2', T0);
    expect([again.charged, again.duplicates]).toEqual([1, 1]);
    state.apply(again.doc);
    expect(['a', 'b', 'c'].map((acc) => state.getAccount(acc)?.balance_micros)).toEqual([-5n, -7n, -1n]);
  });

  it('writes ids grouped as the entry lists its accounts, and a rebuild pairs them back', () => {
    const { state } = ShardState.fromSnapshot(0, empty(), ctx);
    const { doc } = state.planUsage([rec('r1', 'a', 1n), rec('r2', 'b', 1n), rec('r3', 'a', 1n), rec('r1', 'b', 1n)], 'j', T0);
    expect(deltasOf(doc).map((d) => [d.a, d.n])).toEqual([
      ['a', 2],
      ['b', 2],
    ]);
    expect(unpackRecords(doc).ids).toEqual(['r1', 'r3', 'r2', 'r1']);
    const pairs: string[] = [];
    forEachRecord(doc, (account, id) => pairs.push(recordKey(account, id)));
    expect(pairs).toEqual(['a/r1', 'a/r3', 'b/r2', 'b/r1']);
    const horizon = [{ at: T0, keys: pairs.map((key): [string, number] => [key, 0]) }];
    const rebuilt = ShardState.fromSnapshot(0, { seq: 1, checkpoint: 1, accounts: [], tail: [], horizon }, ctx).state;
    const next = rebuilt.planUsage([rec('r3', 'a', 1n), rec('r2', 'b', 1n), rec('r2', 'a', 1n)], 'j2', T0);
    expect([next.charged, next.duplicates]).toEqual([1, 2]);
  });

  it('a record whose id spells a payment key is charged, and the payment still folds once (issue 16)', () => {
    const { state } = ShardState.fromSnapshot(0, empty(), ctx);
    const pay = state.planFolds([{ id: 'payment:pay-x', a: 'a', d: 100n, paid: T0 }], 'f1', T0);
    expect(unpackRecords(pay).ids).toEqual([]);
    state.apply(pay);
    const usage = state.planUsage([rec('payment:pay-x', 'a', 30n)], 'j1', T0);
    expect([usage.charged, usage.duplicates]).toEqual([1, 0]);
    state.apply(usage.doc);
    expect(state.planFolds([{ id: 'payment:pay-x', a: 'a', d: 100n }], 'f2', T0).folds).toEqual([]);

    const first = state.planUsage([rec('payment:pay-y', 'a', 5n)], 'j2', T0);
    state.apply(first.doc);
    const later = state.planFolds([{ id: 'payment:pay-y', a: 'a', d: 50n, paid: T0 }], 'f3', T0);
    expect(later.folds.map((f) => f.id)).toEqual(['payment:pay-y']);
    state.apply(later);
    expect(state.getAccount('a')?.balance_micros).toBe(100n - 30n - 5n + 50n);
  });

  it('a record id plan:acct-v:1 does not stop the purchase plan:acct-v:1 from folding (issue 16)', () => {
    const { state } = ShardState.fromSnapshot(0, empty(), ctx);
    state.apply(state.planFolds([{ id: 'payment:p1', a: 'acct-v', d: 20_000_000n, paid: T0 }], 'f1', T0));
    state.apply(state.planUsage([rec('plan:acct-v:1', 'acct-v', 1n)], 'j1', T0).doc);
    const end = T0 + 30 * 86_400_000;
    const purchase = state.planFolds([{ id: 'plan:acct-v:1', a: 'acct-v', d: -10_000_000n, plan: { id: 'basic', seq: 1, vms: 5, end } }], 'f2', T0);
    expect([purchase.folds.length, purchase.duplicates]).toEqual([1, 0]);
    state.apply(purchase);
    expect(state.getAccount('acct-v')).toMatchObject({
      balance_micros: 9_999_999n,
      current_plan_id: 'basic',
      vm_quota_total: 5,
      vm_quota_period_end: new Date(end),
    });
  });

  it('emits low_balance and depleted once per crossing, with ids from the log position', () => {
    const { state } = ShardState.fromSnapshot(0, empty(), ctx);
    const pay = state.planFolds([{ id: 'payment:p1', a: 'a', d: 1_500_000n, paid: T0 }], 'fold', T0);
    expect(state.apply(pay)).toEqual([]);
    const charge1 = state.planUsage([rec('r1', 'a', 600_000n)], 'j1', T0).doc;
    expect(state.apply(charge1).map((e) => e._id)).toEqual(['low_balance:a:0:2']);
    const charge2 = state.planUsage([rec('r2', 'a', 100_000n)], 'j2', T0).doc;
    expect(state.apply(charge2)).toEqual([]);
    const charge3 = state.planUsage([rec('r3', 'a', 800_000n)], 'j3', T0).doc;
    expect(state.apply(charge3).map((e) => e.type)).toEqual(['depleted']);
    expect(state.getAccount('a')?.first_paid_at?.getTime()).toBe(T0);
  });

  it('a payment folded twice is applied once', () => {
    const { state } = ShardState.fromSnapshot(0, empty(), ctx);
    state.apply(state.planFolds([{ id: 'payment:p1', a: 'a', d: 10n }], 'f1', T0));
    const again = state.planFolds([{ id: 'payment:p1', a: 'a', d: 10n }], 'f2', T0);
    expect(again.folds).toEqual([]);
    // Nothing new: no record duplicate either, so the owner writes no log entry for it.
    expect(again.duplicates).toBe(0);
    expect(state.getAccount('a')?.balance_micros).toBe(10n);
  });

  it('rebuilding from projections plus the log tail gives the same balances and the same events', () => {
    const { state } = ShardState.fromSnapshot(0, empty(), ctx);
    state.apply(state.planFolds([{ id: 'payment:p1', a: 'a', d: 2_000_000n }], 'f', T0));
    const projections = decodeAccounts(state.takeProjections()!.chunks);
    const tail = run(state, [[rec('r1', 'a', 1_500_000n), rec('r2', 'b', 1n)], [rec('r3', 'a', 600_000n)]]);
    const horizon = [
      {
        at: T0,
        keys: [
          [recordKey('a', 'r1'), 0],
          [recordKey('b', 'r2'), 0],
          [recordKey('a', 'r3'), 0],
        ] as [string, number][],
      },
    ];
    const rebuilt = ShardState.fromSnapshot(0, { seq: 3, checkpoint: 1, accounts: projections, tail, horizon, folded: new Set(['payment:p1']) }, ctx);
    expect(rebuilt.state.seq).toBe(3);
    expect(rebuilt.state.getAccount('a')?.balance_micros).toBe(state.getAccount('a')?.balance_micros);
    expect(rebuilt.state.getAccount('b')?.balance_micros).toBe(-1n);
    expect(rebuilt.events.map((e) => e._id).sort()).toEqual(['depleted:a:0:3', 'low_balance:a:0:2']);
    expect(rebuilt.state.planUsage([rec('r3', 'a', 1n)], 'j', T0).duplicates).toBe(1);
  });

  it('final balances do not depend on how records are split into batches (property)', () => {
    const record = fc.record({ n: fc.integer({ min: 0, max: 40 }), account: fc.constantFrom('a', 'b', 'c'), cost: fc.bigInt({ min: 0n, max: 5_000_000n }) });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 80 }), fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 20 }), (raw, cuts) => {
        // Same id always carries the same content, as a producer retry would.
        const byId = new Map<string, UsageRecord>();
        const records = raw.map((r) => byId.get(`r${r.n}`) ?? byId.set(`r${r.n}`, rec(`r${r.n}`, r.account, r.cost)).get(`r${r.n}`)!);
        const whole = ShardState.fromSnapshot(0, empty(), ctx).state;
        run(whole, [records]);
        const split = ShardState.fromSnapshot(0, empty(), ctx).state;
        const batches: UsageRecord[][] = [];
        let i = 0;
        for (let k = 0; i < records.length; k++) {
          const size = cuts[k % cuts.length]!;
          batches.push(records.slice(i, i + size));
          i += size;
        }
        run(split, batches);
        for (const acc of ['a', 'b', 'c']) {
          expect(split.getAccount(acc)?.balance_micros).toBe(whole.getAccount(acc)?.balance_micros);
        }
      }),
    );
  });
});
