import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LADDER, DEFAULT_PRICE_BOOK, type UsageRecord } from '../../../shared/domain/index.js';
import type { ShardLogDoc, ShardSnapshot } from '../../../shared/store/index.js';
import { ShardState, type PricingContext } from '../../../services/worker/shardState.js';

const ctx: PricingContext = { priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lowBalanceMicros: 1_000_000n };
const T0 = Date.parse('2026-11-01T00:00:00Z');
const empty = (): ShardSnapshot => ({ seq: 0, checkpoint: 0, accounts: [], tail: [], ids: new Map() });

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
    expect(again.duplicates).toBe(1);
    expect(state.getAccount('a')?.balance_micros).toBe(10n);
  });

  it('rebuilding from projections plus the log tail gives the same balances and the same events', () => {
    const { state } = ShardState.fromSnapshot(0, empty(), ctx);
    state.apply(state.planFolds([{ id: 'payment:p1', a: 'a', d: 2_000_000n }], 'f', T0));
    const projections = state.takeDirty().docs.map((d) => ({ ...d }));
    const tail = run(state, [[rec('r1', 'a', 1_500_000n), rec('r2', 'b', 1n)], [rec('r3', 'a', 600_000n)]]);
    const ids = new Map<string, number>([['payment:p1', T0], ['r1', T0], ['r2', T0], ['r3', T0]]);
    const rebuilt = ShardState.fromSnapshot(0, { seq: 3, checkpoint: 1, accounts: projections, tail, ids }, ctx);
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
