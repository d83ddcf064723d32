import type { FoldedEntry } from '../domain/index.js';

/**
 * Job shapes on the shard queues. Records travel in a compact tuple form: a batch of
 * 1000 records is ~120 KiB of JSON instead of ~250 KiB with field names, and the worker
 * re-validates nothing (the bridge did, with the domain core).
 */

/**
 * [id, account_id, kind, quantity x1e6, applies_to, occurred_at ms, cost_micros | null,
 * published_at ms, JetStream stream sequence]. The sequence tells a redelivered message
 * from a duplicate record (absent in jobs queued before it was added: read as 0, unknown).
 */
export type WireRecord = [string, string, string, string, string, number, string | null, number, number?];

export interface UsageBatchJob {
  type: 'usage';
  /** The bridge waiting for this job's outcome; it is told on `tally.done.<bridge>`. */
  bridge: string;
  records: WireRecord[];
}

/** A folded entry as JSON: its amounts as decimal strings. */
export type FoldJobEntry = Omit<FoldedEntry, 'd' | 'low'> & { d: string; low?: string | null };

/** Asks the shard owner to fold ledger entries written by other services (payments, plans, KYC, VMs). */
export interface FoldJob {
  type: 'fold';
  /** Amounts as decimal strings: job data is JSON, which has no bigint. */
  entries: FoldJobEntry[];
}

/** Materialize tiers and expire plans for every account of the shard, as of `now`. */
export interface TickJob {
  type: 'tick';
  tickId: string;
  now: number;
}

export type ShardJob = UsageBatchJob | FoldJob | TickJob;

/** Result the shard owner returns for a job (kept by BullMQ, read by the bridge's fallback poll). */
export interface ShardJobResult {
  seq: number | null;
  charged: number;
  duplicates: number;
  /**
   * Usage jobs: positions (in the job's records) of the records refused with
   * `amount_out_of_range`; the bridge dead-letters them with their original bytes.
   */
  refused?: number[];
  /** Tick jobs: what the tick changed on this shard. */
  tick?: TickCounts;
}

/** A ladder tick's counts, per shard and summed over shards. */
export interface TickCounts {
  accounts: number;
  tierChanges: number;
  plansExpired: number;
  allocationsExpired: number;
}
