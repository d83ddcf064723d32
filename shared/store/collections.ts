import type { Binary } from 'mongodb';
import type { FoldedEntry } from '../domain/index.js';

/** The shard log's fold shape, defined in the domain so that fold jobs can carry it too. */
export type { FoldedEntry };

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
 * The append-only shard log: `_id` = `<shard>:<seq>`, so two owners racing for one step
 * cannot both write it. A usage entry holds the batch's charged record ids (the dedup
 * horizon's source) and per-account deltas (the usage ledger); a fold entry holds folded
 * ledger entries and no ids; a fence holds nothing.
 */
export interface ShardLogDoc {
  _id: string;
  shard: number;
  seq: number;
  at: Date;
  /** BullMQ job that produced it, for operators tracing a batch. */
  job: string;
  /**
   * The ids of the records charged, grouped as `accounts` is ordered: the `accounts[0].n`
   * ids of `accounts[0].a` first, then those of `accounts[1]`, and so on, so each id's
   * account (half of the idempotency key, SPEC 3) is known without storing it again
   * (`forEachRecord` in shardLog.ts pairs them), as the text of one JSON array. One string
   * rather than a BSON array: FerretDB v1 decodes every document of the collection for
   * every query, and an array costs it per element (a 5 M-id log scanned 8-14x slower;
   * test/bench/takeover.md). Absent in fold entries (their ids are `folds[].id`, a
   * namespace of their own) and fences. Removed by compaction once older than the dedup
   * horizon (the deltas stay: they are the ledger).
   */
  rids?: string;
  /**
   * The JetStream sequence of the message that carried each id, parallel to the ids (a
   * redelivered message is then told apart from a duplicate after a takeover too): the
   * first, then each one's difference from the one before, in decimal, comma-separated
   * (a batch's sequences mostly follow one another: "5120,1,1,1"). Removed with `rids`.
   */
  rseq?: string;
  /** Entries written before `rids` (format 1): the ids as an array. Read, never written. */
  ids?: string[];
  /** Format 1's sequences, parallel to `ids`. Read, never written. */
  sseq?: number[];
  /** Records refused as `amount_out_of_range` (not charged); a redelivery of one is refused again. */
  refused?: RefusedRecord[];
  compacted?: boolean;
  duplicates: number;
  /**
   * The per-account deltas of a usage entry (log format 3): one line per account, `<account>
   * <delta micros> <records> <latest occurred_at ms>`, in the order the ids in `rids` are
   * grouped (`packDeltas`, `deltasOf` in shardLog.ts). Text, not an array of subdocuments:
   * FerretDB v1 pays per element and per field to insert and to scan (test/bench/logEntryCost.ts:
   * an entry of 200 deltas costs it ~4x the CPU to insert and ~13x to scan as subdocuments).
   * Absent in fold entries and fences.
   */
  deltas?: string;
  /** The deltas of entries written before format 3, as subdocuments. Read, never written. */
  accounts?: AccountDelta[];
  folds: FoldedEntry[];
}

/** A record the owner refused: charging it would have taken a balance or a stored sum outside Int64 (SPEC 2). */
export interface RefusedRecord {
  a: string;
  id: string;
  /** JetStream sequence of its message (0: unknown). */
  s: number;
}

/**
 * Ledger entries written by the API (payments, plan purchases, KYC decisions). `_id` is the
 * idempotency key: `payment:<payment_id>`, `plan:<account>:<plan_seq>`, `kyc:<account>:<nonce>`.
 */
export interface LedgerDoc {
  _id: string;
  kind: 'payment' | 'plan_purchase' | 'kyc';
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
  /** Purchases folded so far (the `n` of the last `plan:<account>:<n>`); absent on projections older than it, read as 0. */
  plan_seq?: number;
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
 * A revocation: `_id` = `revoked:<key id>`, inserted once, in the same collection as the keys
 * so that one query finds a key and its revocation. An insert rather than an update of the
 * key document, so revoking never races with anything (SPEC "What is atomic").
 */
export interface KeyRevocationDoc {
  _id: string;
  kind: 'revocation';
  key_id: string;
  account_id: string;
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
