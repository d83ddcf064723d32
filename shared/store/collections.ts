import type { Binary } from 'mongodb';
import type { AccountDelta, AccountDoc, BillingEventType, EventDoc, FoldedEntry, RefusedRecord, ShardLogDoc, TierTransitionDoc } from '../domain/index.js';

/**
 * The shapes the shard owner's pure core works on live in the domain (the fold, the log
 * entry, the account and its events); the store names them as its documents.
 */
export type { AccountDelta, AccountDoc, BillingEventType, EventDoc, FoldedEntry, RefusedRecord, ShardLogDoc, TierTransitionDoc };

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
  /** Prefix of the per-shard projection versions of 0.x before projection snapshots (refused at start: storeFormat.ts). */
  accounts: 'accounts',
  checkpoints: 'shard_checkpoints',
  events: 'events',
  allocations: 'allocations',
  ticks: 'ticks',
  tierTransitions: 'tier_transitions',
  accountKeys: 'account_keys',
  horizonSnapshots: 'horizon_snapshots',
  projectionSnapshots: 'projection_snapshots',
  redriveRuns: 'redrive_runs',
  redriveSends: 'redrive_sends',
  redriveDone: 'redrive_done',
} as const;

/**
 * Ledger entries written by the API (payments, plan purchases, KYC decisions, operator
 * adjustments, alert settings). `_id` is the idempotency key: `payment:<payment_id>`,
 * `plan:<account>:<plan_seq>`, `kyc:<account>:<nonce>`, `adjustment:<adjustment_id>`,
 * `alerts:<account>:<nonce>`.
 */
export interface LedgerDoc {
  _id: string;
  kind: 'payment' | 'plan_purchase' | 'kyc' | 'adjustment' | 'alerts';
  account_id: string;
  shard: number;
  /** Signed: the balance change (payments > 0, purchases < 0, KYC 0). */
  amount_micros: bigint;
  at: Date;
  /** For payments: the provider's paid_at, which stamps first_paid_at on the first credit. */
  paid_at?: Date;
  plan_id?: string;
  plan_seq?: number;
  period_end?: Date;
  vm_count?: number;
  /** For KYC decisions: the new kyc_verified. */
  kyc_verified?: boolean;
  /** For adjustments: why (1..500 characters), and who made it. */
  reason?: string;
  by?: 'admin_token' | 'operator_session' | 'cli';
  /** For alert settings: the account's own low-balance threshold; null goes back to LOW_BALANCE_MICROS. */
  low_balance_micros?: bigint | null;
}

export interface CheckpointDoc {
  _id: number;
  /** Every account projection of the shard is folded through at least this position. */
  seq: number;
  at: Date;
}

/**
 * A complete snapshot of a shard's dedup horizon through log position `seq`: its chunks are
 * in their own collection (`horizonChunksCollection`), written before this manifest, which
 * is what makes them count. `_id` = `<shard>:<seq>`. Written by the owner that applied `seq`.
 */
export interface HorizonManifestDoc {
  _id: string;
  shard: number;
  seq: number;
  chunks: number;
  bytes: number;
  /** Hex SHA-256 of the chunks' bytes in order: what is restored is what was written. */
  sha256: string;
  /** Keys the horizon held. */
  keys: number;
  at: Date;
}

/** One chunk of a horizon snapshot (`_id` = its index from 0). */
export interface HorizonChunkDoc {
  _id: number;
  data: Binary;
}

export type AllocationStatus = 'active' | 'expired';

/**
 * One VM allocated from a plan's quota. `_id` = `vm:<account>:<plan_seq>:<slot>` is the
 * claim: slot 1..vm_count, so a plan can never have more than vm_count allocations.
 * Inserted by the API; `status` is updated only by the shard owner (expiry).
 */
export interface AllocationDoc {
  _id: string;
  account_id: string;
  shard: number;
  plan_id: string;
  plan_seq: number;
  slot: number;
  expires_at: Date;
  /** Plan price / VM count, for audit; null when the plan left the registry. */
  audit_cost_micros: bigint | null;
  status: AllocationStatus;
  created_at: Date;
  expired_at?: Date;
}

/** One ladder tick's history: what it changed across every shard. `_id` = the tick id. */
export interface TickDoc {
  _id: string;
  /** Where it ran from: scheduler, admin route or CLI. */
  source: string;
  now: Date;
  started_at: Date;
  finished_at: Date;
  shards: number;
  shards_done: number;
  /** Every shard owner finished its part within the timeout. */
  complete: boolean;
  accounts: number;
  tier_changes: number;
  plans_expired: number;
  allocations_expired: number;
}

/**
 * An account key's public half: `_id` = key id, `hash` = hex SHA-256 of the whole key
 * (`tk_<key id>_<secret>`). Inserted once by the admin, never updated. The key itself is
 * shown once at creation and stored nowhere.
 */
export interface AccountKeyDoc {
  _id: string;
  kind: 'key';
  account_id: string;
  hash: string;
  created_at: Date;
}

/**
 * A producer key (issue 31): like an account key, but of no account: it may post usage for
 * any account (`POST /v1/usage`) and read nothing. Same collection, same revocations.
 */
export interface ProducerKeyDoc {
  _id: string;
  kind: 'producer';
  hash: string;
  created_at: Date;
}

/**
 * A revocation: `_id` = `revoked:<key id>`, inserted once, in the same collection as the keys
 * so that one query finds a key and its revocation. An insert rather than an update of the
 * key document, so revoking never races with anything (SPEC "What is atomic").
 */
export interface KeyRevocationDoc {
  _id: string;
  kind: 'revocation';
  key_id: string;
  /** Null for a producer key. */
  account_id: string | null;
  revoked_at: Date;
}

/** A dead-letter re-drive run: its audit record (who, when, filters) and, once ended, its report. */
export interface RedriveRunDoc {
  _id: string;
  by: string;
  at: Date;
  filters: Record<string, unknown>;
  dry_run: boolean;
  finished_at?: Date;
  /** The run's report (money as a decimal string). */
  report?: Record<string, unknown>;
  /** Why the run did not finish. */
  error?: string;
}

/**
 * A record a run is about to send through the pipeline, written before its job is added:
 * `_id` = `<account_id>/<id>@<run>`. A later run finds the job here and looks for its
 * shard-log entry to know whether the record was settled, even past the dedup horizon.
 */
export interface RedriveSendDoc {
  _id: string;
  /** recordKey(account_id, id) */
  key: string;
  run: string;
  job: string;
  /** USAGE_DLQ sequence of the dead letter. */
  dlq_seq: number;
  at: Date;
}

/** A record a run saw settled: `_id` = recordKey(account_id, id). Never sent again. */
export interface RedriveDoneDoc {
  _id: string;
  run: string;
  job: string;
  outcome: 'charged' | 'duplicate';
  at: Date;
}
