import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  DEFAULT_LADDER,
  DEFAULT_PRICE_BOOK,
  newAccount,
  type AccountDoc,
  type FoldedEntry,
  type ShardLogDoc,
  type ShardSnapshot,
} from '../../../../shared/domain/index.js';
import { foldOfLedger } from '../../../../shared/store/index.js';
import { applyAccountFields, planTick } from '../../../../services/worker/core/accountFolds.js';
import { ShardState } from '../../../../services/worker/core/shardState.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function account(over: Partial<AccountDoc> = {}): AccountDoc {
  return { ...newAccount('a', 0, new Date(T0)), seq: 1, first_paid_at: new Date(T0), ...over };
}

describe('planTick', () => {
  it('changes tier exactly at 7 and 30 days of tenure, and records the transition with a stable id', () => {
    expect(planTick([account()], 't', T0 + 7 * DAY_MS - 1, DEFAULT_LADDER).folds).toEqual([]);
    const week = planTick([account()], 't1', T0 + 7 * DAY_MS, DEFAULT_LADDER);
    expect(week.folds).toEqual([{ id: 'tick:t1:a', a: 'a', d: 0n, tier: 'week' }]);
    expect(week.transitions.map((t) => t._id)).toEqual([`a:none->week:${T0}`]);
    const month = planTick([account({ discount_tier: 'week' })], 't2', T0 + 30 * DAY_MS, DEFAULT_LADDER);
    expect(month.folds[0]?.tier).toBe('month');
    expect(month.counts).toEqual({ accounts: 1, tierChanges: 1, plansExpired: 0 });
  });

  it('expires a plan at its period end (exclusive), naming the plan it ends', () => {
    const end = new Date(T0 + 30 * DAY_MS);
    const withPlan = account({
      first_paid_at: new Date(T0 - 100 * DAY_MS),
      discount_tier: 'month',
      current_plan_id: 'basic',
      plan_seq: 3,
      vm_quota_total: 5,
      vm_quota_used: 2,
      vm_quota_period_end: end,
    });
    expect(planTick([withPlan], 't', end.getTime() - 1, DEFAULT_LADDER).folds).toEqual([]);
    expect(planTick([withPlan], 't', end.getTime(), DEFAULT_LADDER).folds).toEqual([{ id: 'tick:t:a', a: 'a', d: 0n, expire: 3 }]);
  });

  it('plans nothing for an account never paid and without a plan', () => {
    expect(planTick([account({ first_paid_at: null })], 't', T0 + 100 * DAY_MS, DEFAULT_LADDER)).toEqual({
      folds: [],
      transitions: [],
      counts: { accounts: 1, tierChanges: 0, plansExpired: 0 },
    });
  });
});

describe('applyAccountFields', () => {
  it('counts VMs as the highest slot of the current plan, whatever the fold order', () => {
    const doc = account({ current_plan_id: 'basic', plan_seq: 2, vm_quota_total: 5 });
    for (const slot of [2, 1, 3]) applyAccountFields(doc, { id: `vm:a:2:${slot}`, a: 'a', d: 0n, vm: { seq: 2, slot } });
    applyAccountFields(doc, { id: 'vm:a:1:5', a: 'a', d: 0n, vm: { seq: 1, slot: 5 } });
    expect(doc.vm_quota_used).toBe(3);
  });

  it('an expiry clears only the plan it names', () => {
    const doc = account({ current_plan_id: 'pro', plan_seq: 4, vm_quota_total: 10, vm_quota_used: 1, vm_quota_period_end: new Date(T0) });
    applyAccountFields(doc, { id: 'x', a: 'a', d: 0n, expire: 3 });
    expect(doc.current_plan_id).toBe('pro');
    applyAccountFields(doc, { id: 'y', a: 'a', d: 0n, expire: 4 });
    expect(doc).toMatchObject({ current_plan_id: null, vm_quota_total: 0, vm_quota_used: 0, vm_quota_period_end: null, plan_seq: 4 });
  });
});

describe('ShardState folds beyond the dedup horizon', () => {
  const ctx = { priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lowBalanceMicros: 1_000_000n, lateArrivalDays: 35 };
  const snap = (folded: string[]): ShardSnapshot => ({ seq: 0, checkpoint: 0, accounts: [], tail: [], horizon: [], folded: new Set(folded) });

  it('never folds a ledger entry twice, even once its id has left the horizon', () => {
    const { state } = ShardState.fromSnapshot(0, snap([]), ctx);
    state.apply(state.planFolds([{ id: 'payment:p1', a: 'a', d: 5n, paid: T0 }], 'f1', T0));
    state.expireIds(T0 + 1);
    expect(state.planFolds([{ id: 'payment:p1', a: 'a', d: 5n }], 'f2', T0 + DAY_MS).folds).toEqual([]);
    expect(state.getAccount('a')?.balance_micros).toBe(5n);
  });

  it('knows the entries folded before it took the shard, and folds one entry once per batch', () => {
    const { state } = ShardState.fromSnapshot(0, snap(['payment:old']), ctx);
    const planned = state.planFolds(
      [
        { id: 'payment:old', a: 'a', d: 1n },
        { id: 'plan:a:1', a: 'a', d: -1n },
        { id: 'plan:a:1', a: 'a', d: -1n },
      ],
      'f',
      T0,
    );
    expect(planned.folds.map((f) => f.id)).toEqual(['plan:a:1']);
    // Entries left out are no record duplicates (the stats count records only).
    expect(planned.duplicates).toBe(0);
  });
});

describe('adjustments and alert thresholds in the owner (issue 31)', () => {
  const ctx = { priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lowBalanceMicros: 1_000_000n, lateArrivalDays: 35 };
  const empty: ShardSnapshot = { seq: 0, checkpoint: 0, accounts: [], tail: [], horizon: [], folded: new Set() };
  const fold = (state: ShardState, entry: FoldedEntry, at: number) => state.apply(state.planFolds([entry], 'f', at));

  it('an adjustment moves the balance only: first_paid_at and the tier stay as they were', () => {
    const { state } = ShardState.fromSnapshot(0, empty, ctx);
    fold(
      state,
      foldOfLedger({ _id: 'adjustment:g1', kind: 'adjustment', account_id: 'a', shard: 0, amount_micros: 7_000_000n, at: new Date(T0), reason: 'r' }),
      T0,
    );
    expect(state.getAccount('a')).toMatchObject({ balance_micros: 7_000_000n, first_paid_at: null, discount_tier: 'none' });
  });

  it("fires low_balance once per crossing of the account's own threshold, and the threshold survives a rebuild from the log", () => {
    const { state } = ShardState.fromSnapshot(0, empty, ctx);
    const lows = (events: { type: string }[]) => events.filter((e) => e.type === 'low_balance').length;
    const log: ShardLogDoc[] = [];
    const step = (entry: FoldedEntry, at: number) => {
      const planned = state.planFolds([entry], 'f', at);
      log.push(planned);
      return lows(state.apply(planned));
    };
    expect(step({ id: 'payment:p', a: 'a', d: 5_000_000n, paid: T0 }, T0)).toBe(0);
    expect(step({ id: 'alerts:a:1', a: 'a', d: 0n, low: 10_000_000n }, T0 + 1)).toBe(1);
    expect(step({ id: 'alerts:a:2', a: 'a', d: 0n, low: 20_000_000n }, T0 + 2)).toBe(0);
    expect(step({ id: 'adjustment:up', a: 'a', d: 30_000_000n }, T0 + 3)).toBe(0);
    expect(step({ id: 'adjustment:down', a: 'a', d: -20_000_000n }, T0 + 4)).toBe(1);
    expect(step({ id: 'alerts:a:3', a: 'a', d: 0n, low: null }, T0 + 5)).toBe(0);
    expect(state.getAccount('a')?.low).toBe(false);
    const rebuilt = ShardState.fromSnapshot(0, { ...empty, tail: log.slice(0, 4) }, ctx).state;
    expect(rebuilt.getAccount('a')?.low_balance_micros).toBe(20_000_000n);
  });
});
