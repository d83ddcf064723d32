import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LADDER, DEFAULT_PRICE_BOOK, deltasOf, INT64_MAX, INT64_MIN, type ShardSnapshot, type UsageRecord } from '../../../../shared/domain/index.js';
import { ShardState, type PricingContext } from '../../../../services/worker/core/shardState.js';

const ctx: PricingContext = { priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lowBalanceMicros: 1_000_000n, lateArrivalDays: 35 };
const T0 = Date.parse('2026-11-01T00:00:00Z');
const empty = (): ShardSnapshot => ({ seq: 0, checkpoint: 0, accounts: [], tail: [], horizon: [] });
const rec = (id: string, accountId: string, cost: bigint): UsageRecord => ({
  id,
  accountId,
  kind: 'other',
  quantity: 1_000_000n,
  appliesTo: 'hero_os_hourly',
  occurredAt: T0,
  costMicros: cost,
  meta: null,
});

/** SPEC 2 "nothing wraps", and SPEC 9's redelivery: the shard owner's side (issue 16). */
describe('amounts out of Int64 range, redeliveries and duplicates', () => {
  it('refuses the charge that would take a balance below Int64, and refuses its redelivery again', () => {
    const { state } = ShardState.fromSnapshot(0, empty(), ctx);
    const first = state.planUsage([rec('big-1', 'a', INT64_MAX), rec('big-2', 'a', INT64_MAX)], 'j1', T0, [11, 12]);
    expect([first.charged, first.duplicates, first.refused]).toEqual([1, 0, [1]]);
    expect(first.doc.refused).toEqual([{ a: 'a', id: 'big-2', s: 12 }]);
    expect(deltasOf(first.doc)).toEqual([{ a: 'a', d: -INT64_MAX, n: 1, t: T0 }]);
    state.apply(first.doc);
    expect(state.getAccount('a')?.balance_micros).toBe(-INT64_MAX);

    const again = state.planUsage([rec('big-2', 'a', INT64_MAX), rec('big-1', 'a', INT64_MAX)], 'j1', T0, [12, 11]);
    expect([again.charged, again.duplicates, again.refused, again.doc.refused]).toEqual([0, 0, [0], undefined]);
    const republished = state.planUsage([rec('big-2', 'a', INT64_MAX)], 'j2', T0, [40]);
    expect([republished.charged, republished.duplicates, republished.refused]).toEqual([0, 1, []]);
  });

  it('refuses a charge whose entry delta would leave Int64 even when the balance would not', () => {
    const { state } = ShardState.fromSnapshot(0, empty(), ctx);
    state.apply(state.planFolds([{ id: 'payment:p', a: 'a', d: INT64_MAX }], 'f', T0));
    const planned = state.planUsage([rec('x1', 'a', INT64_MAX), rec('x2', 'a', INT64_MAX), rec('x3', 'a', 1n)], 'j', T0, [1, 2, 3]);
    // After x1 and x2 the balance would be -INT64_MAX (in range), but the entry's delta -2*INT64_MAX is not.
    expect(planned.refused).toEqual([1]);
    expect(deltasOf(planned.doc)[0]!.d).toBe(INT64_MIN);
  });

  it('tells a redelivered message from a duplicate record by its stream sequence', () => {
    const { state } = ShardState.fromSnapshot(0, empty(), ctx);
    state.apply(state.planUsage([rec('r1', 'a', 5n)], 'j1', T0, [7]).doc);
    const redelivered = state.planUsage([rec('r1', 'a', 5n)], 'j2', T0, [7]);
    expect([redelivered.charged, redelivered.duplicates]).toEqual([0, 0]);
    const duplicate = state.planUsage([rec('r1', 'a', 5n)], 'j3', T0, [8]);
    expect([duplicate.charged, duplicate.duplicates]).toEqual([0, 1]);
    // Unknown sequences (0) always count as duplicates: never charged twice either way.
    expect(state.planUsage([rec('r1', 'a', 5n)], 'j4', T0, [0]).duplicates).toBe(1);
  });

  it('folds a credit that would pass Int64 as refused, amount 0, and says so again on a retry', () => {
    const { state } = ShardState.fromSnapshot(0, empty(), ctx);
    state.apply(state.planFolds([{ id: 'payment:p1', a: 'a', d: INT64_MAX - 10n }], 'f1', T0));
    const doc = state.planFolds([{ id: 'payment:p2', a: 'a', d: 11n, paid: T0 }], 'f2', T0);
    expect(doc.folds).toEqual([{ id: 'payment:p2', a: 'a', d: 0n, refused: true }]);
    state.apply(doc);
    expect(state.getAccount('a')?.balance_micros).toBe(INT64_MAX - 10n);
    expect(state.isRefusedFold('payment:p2')).toBe(true);
    expect(state.planFolds([{ id: 'payment:p2', a: 'a', d: 11n }], 'f3', T0).folds).toEqual([]);
  });

  it('never stores a value that differs from the exact sum of what it accepted (property)', () => {
    const huge = fc.oneof(fc.bigInt({ min: 0n, max: INT64_MAX }), fc.constantFrom(INT64_MAX, INT64_MAX - 1n, 2n ** 62n, 1n));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('usage' as const), account: fc.constantFrom('a', 'b'), cost: huge }),
      fc.record({ kind: fc.constant('pay' as const), account: fc.constantFrom('a', 'b'), cost: huge.filter((v) => v > 0n) }),
    );
    fc.assert(
      fc.property(fc.array(fc.array(op, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }), (batches) => {
        const { state } = ShardState.fromSnapshot(0, empty(), ctx);
        const exact = new Map<string, bigint>();
        let n = 0;
        for (const batch of batches) {
          const usage = batch.filter((o) => o.kind === 'usage').map((o) => rec(`r${++n}`, o.account, o.cost));
          const planned = state.planUsage(
            usage,
            `j${n}`,
            T0,
            usage.map((_, i) => n * 100 + i),
          );
          const refused = new Set(planned.refused);
          usage.forEach((r, i) => {
            if (!refused.has(i)) exact.set(r.accountId, (exact.get(r.accountId) ?? 0n) - r.costMicros!);
          });
          for (const delta of deltasOf(planned.doc)) expect(delta.d >= INT64_MIN && delta.d <= INT64_MAX).toBe(true);
          state.apply(planned.doc);
          for (const o of batch.filter((x) => x.kind === 'pay')) {
            const doc = state.planFolds([{ id: `payment:${++n}`, a: o.account, d: o.cost }], `f${n}`, T0);
            if (!doc.folds[0]!.refused) exact.set(o.account, (exact.get(o.account) ?? 0n) + o.cost);
            state.apply(doc);
          }
        }
        for (const [account, sum] of exact) {
          expect(sum >= INT64_MIN && sum <= INT64_MAX).toBe(true);
          expect(state.getAccount(account)?.balance_micros ?? 0n).toBe(sum);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('several folds of one account in one log entry', () => {
  it('applies every one of them (a takeover sweep folds a payment and a purchase together), live and on a rebuild', () => {
    const { state } = ShardState.fromSnapshot(0, empty(), ctx);
    const doc = state.planFolds(
      [
        { id: 'payment:p1', a: 'a', d: 30_000_000n, paid: T0 },
        { id: 'payment:p2', a: 'a', d: 5_000_000n, paid: T0 },
      ],
      'sweep',
      T0,
    );
    state.apply(doc);
    expect(state.getAccount('a')?.balance_micros).toBe(35_000_000n);
    const rebuilt = ShardState.fromSnapshot(0, { seq: 1, checkpoint: 0, accounts: [], tail: [doc], horizon: [] }, ctx).state;
    expect(rebuilt.getAccount('a')?.balance_micros).toBe(35_000_000n);
  });
});
