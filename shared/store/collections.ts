/**
 * Collection names and document shapes. Money fields are Int64 in MongoDB and bigint in
 * TypeScript (the driver runs with `useBigInt64: true`).
 *
 * Correctness rests on unique `_id` inserts only (SPEC "What is atomic"): a shard log entry
 * is the commit point of a batch, a ledger entry the commit point of a payment or a
 * purchase. Every other document is a projection written by one owner.
 */
export const COLLECTIONS = {
  shardLog: 'shard_log',
  ledger: 'ledger',
  accounts: 'accounts',
  checkpoints: 'shard_checkpoints',
  events: 'events',
} as const;

/** One account's net change in one shard-log entry. */
export interface AccountDelta {
  /** account id */
  a: string;
  /** micros, negative for charges */
  d: bigint;
  /** records charged */
  n: number;
  /** latest occurred_at among them (ms) */
  t: number;
}

/**
 * A ledger entry (payment, purchase…) folded into the shard log entry that applied it,
 * with what the fold changes besides the balance.
 */
export interface FoldedEntry {
  id: string;
  a: string;
  d: bigint;
  /** payments: paid_at (ms), the candidate for first_paid_at */
  paid?: number;
  /** plan purchases: the plan now active */
  plan?: { id: string; seq: number; vms: number; end: number };
}

/**
 * The append-only shard log: `_id` = `<shard>:<seq>`, so two owners racing for one step
 * cannot both write it. Holds the batch's record ids (the dedup horizon's source) and
 * per-account deltas (the usage ledger).
 */
export interface ShardLogDoc {
  _id: string;
  shard: number;
  seq: number;
  at: Date;
  /** BullMQ job that produced it, for operators tracing a batch. */
  job: string;
  ids: string[];
  duplicates: number;
  accounts: AccountDelta[];
  folds: FoldedEntry[];
}

/** Ledger entries written by the API (payments, plan purchases). `_id` is the idempotency key. */
export interface LedgerDoc {
  _id: string;
  kind: 'payment' | 'plan_purchase';
  account_id: string;
  shard: number;
  amount_micros: bigint;
  at: Date;
  /** For payments: the provider's paid_at, which stamps first_paid_at on the first credit. */
  paid_at?: Date;
  plan_id?: string;
  plan_seq?: number;
  period_end?: Date;
  vm_count?: number;
}

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
  /** Below the low-balance threshold / at or below zero, as of `seq`: the crossing state. */
  low: boolean;
  depleted: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface CheckpointDoc {
  _id: number;
  /** Every account projection of the shard is folded through at least this position. */
  seq: number;
  at: Date;
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
}
