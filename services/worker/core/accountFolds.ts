import {
  isPlanActive,
  tierAt,
  tierTransitionId,
  type AccountDoc,
  type FoldedEntry,
  type Ladder,
  type TierTransitionDoc,
} from '../../../shared/domain/index.js';

/**
 * The account fields a folded entry sets besides the balance and first_paid_at (plans,
 * VM quota, KYC, alert threshold, tier, expiry). Pure; applied by the shard owner, the only writer of the
 * projection, in log order, so a rebuild from the log reproduces the same account.
 */
export function applyAccountFields(doc: AccountDoc, fold: FoldedEntry): void {
  if (fold.plan) doc.plan_seq = fold.plan.seq;
  if (fold.kyc !== undefined) doc.kyc_verified = fold.kyc;
  if (fold.low !== undefined) doc.low_balance_micros = fold.low;
  // Slots are claimed in order from the lowest free one, so the claimed slots of a plan are
  // always 1..k and the highest slot folded is the number in use, whatever the fold order.
  if (fold.vm && doc.current_plan_id !== null && fold.vm.seq === (doc.plan_seq ?? 0) && fold.vm.slot > doc.vm_quota_used) {
    doc.vm_quota_used = fold.vm.slot;
  }
  if (fold.tier !== undefined) doc.discount_tier = fold.tier;
  // An expiry names the plan it ended: a plan bought after the tick decided stays untouched.
  if (fold.expire !== undefined && fold.expire === (doc.plan_seq ?? 0) && doc.current_plan_id !== null) {
    doc.current_plan_id = null;
    doc.vm_quota_total = 0;
    doc.vm_quota_used = 0;
    doc.vm_quota_period_end = null;
  }
}

export interface TickPlan {
  /** One entry per account that changes (d = 0): its new tier and/or the plan that expired. */
  folds: FoldedEntry[];
  transitions: TierTransitionDoc[];
  /** What the tick changes on the shard (the job's TickCounts, but for the allocations expired after it). */
  counts: { accounts: number; tierChanges: number; plansExpired: number };
}

/**
 * What a tick changes on a shard as of `now`: the tier each account has now (tenure from
 * first_paid_at, SPEC 5) and the plans whose period has ended. Accounts already up to
 * date produce nothing, so running the same tick again plans nothing.
 */
export function planTick(accounts: Iterable<AccountDoc>, tickId: string, now: number, ladder: Ladder): TickPlan {
  const folds: FoldedEntry[] = [];
  const transitions: TierTransitionDoc[] = [];
  const counts = { accounts: 0, tierChanges: 0, plansExpired: 0 };
  for (const doc of accounts) {
    counts.accounts++;
    const tier = tierAt(doc.first_paid_at?.getTime() ?? null, now, ladder);
    const tierChanged = tier !== doc.discount_tier;
    const periodEnd = doc.vm_quota_period_end?.getTime() ?? null;
    const expired = doc.current_plan_id !== null && !isPlanActive(periodEnd, now);
    if (!tierChanged && !expired) continue;
    const fold: FoldedEntry = { id: `tick:${tickId}:${doc._id}`, a: doc._id, d: 0n };
    if (tierChanged) {
      fold.tier = tier;
      counts.tierChanges++;
      if (doc.first_paid_at) {
        transitions.push({
          _id: tierTransitionId(doc._id, doc.discount_tier, tier, doc.first_paid_at),
          account_id: doc._id,
          from: doc.discount_tier,
          to: tier,
          first_paid_at: doc.first_paid_at,
          at: new Date(now),
          tick_id: tickId,
        });
      }
    }
    if (expired) {
      fold.expire = doc.plan_seq ?? 0;
      counts.plansExpired++;
    }
    folds.push(fold);
  }
  return { folds, transitions, counts };
}
