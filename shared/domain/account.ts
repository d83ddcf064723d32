/**
 * An account as its shard's owner folds it (the projection, SPEC 6), the crossing events
 * it raises and the tiers it reaches: the shapes the owner's core works on, stored as such.
 */

/** The account projection (SPEC 6). Written only by the owner of the account's shard. */
export interface AccountDoc {
  _id: string;
  shard: number;
  /** Shard-log position this projection is folded through. */
  seq: number;
  balance_micros: bigint;
  first_paid_at: Date | null;
  last_active_at: Date | null;
  discount_tier: string;
  current_plan_id: string | null;
  vm_quota_total: number;
  vm_quota_used: number;
  vm_quota_period_end: Date | null;
  kyc_verified: boolean;
  /** Purchases folded so far (the `n` of the last `plan:<account>:<n>`); absent on projections older than it, read as 0. */
  plan_seq?: number;
  /**
   * Usage rollups: what the account was charged by hour (by day once older than the
   * late-arrival horizon), kind and applies_to, as `foldUsage` writes them; absent until the
   * first charge (docs/decisions/010-usage-rollups.md).
   */
  usage?: string;
  /** The account's own low-balance threshold (PUT /v1/admin/accounts/:id/alerts); absent or null: LOW_BALANCE_MICROS. */
  low_balance_micros?: bigint | null;
  /** Below the low-balance threshold / at or below zero, as of `seq`: the crossing state. */
  low: boolean;
  depleted: boolean;
  created_at: Date;
  updated_at: Date;
}

/** The account that usage for an account never seen creates (SPEC 6): balance 0, below both thresholds, so it raises no crossing events. */
export function newAccount(id: string, shard: number, at: Date): AccountDoc {
  return {
    _id: id,
    shard,
    seq: 0,
    balance_micros: 0n,
    first_paid_at: null,
    last_active_at: null,
    discount_tier: 'none',
    current_plan_id: null,
    vm_quota_total: 0,
    vm_quota_used: 0,
    vm_quota_period_end: null,
    kyc_verified: false,
    low: true,
    depleted: true,
    created_at: at,
    updated_at: at,
  };
}

export type BillingEventType = 'low_balance' | 'depleted';

/** `_id` is derived from the ledger position that caused the crossing, so it is emitted once. */
export interface EventDoc {
  _id: string;
  type: BillingEventType;
  account_id: string;
  balance_micros: bigint;
  shard: number;
  seq: number;
  at: Date;
  /** false from the insert until the owner has it on NATS (the outbox); absent on events stored before the outbox. */
  published?: boolean;
  published_at?: Date;
}

/** A tier an account reached, recorded by the tick. `_id` = `<account>:<from>-><to>:<first_paid_at ms>`. */
export interface TierTransitionDoc {
  _id: string;
  account_id: string;
  from: string;
  to: string;
  first_paid_at: Date;
  /** The tick's `now`. */
  at: Date;
  tick_id: string;
}

/** `<account>:<from>-><to>:<first_paid_at ms>`: an account reaches a tier once per first payment, so a re-run inserts nothing. */
export const tierTransitionId = (accountId: string, from: string, to: string, firstPaidAt: Date): string =>
  `${accountId}:${from}->${to}:${firstPaidAt.getTime()}`;
