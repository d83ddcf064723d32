/**
 * The domain's shapes, apart from the functions that build and use them. Everything here
 * is plain data: money and scaled quantities are bigint, instants are epoch milliseconds.
 */
import type { Ratio } from './money.js';

/** The producer's unit of measure. */
export type Kind = 'vm_hour' | 'llm_token' | 'hero_os_hour' | 'other';

/** The discount category a record is charged under. */
export type Category = 'hero_os_hourly' | 'llm' | 'vm';

/** An account's discount tier; the names are fixed by SPEC 5, their thresholds configured. */
export type Tier = 'none' | 'week' | 'month';

/** A usage record that passed every rule of SPEC 3. */
export interface UsageRecord {
  /** The idempotency key. */
  id: string;
  accountId: string;
  kind: Kind;
  /** The quantity scaled by 1e6, exact. */
  quantity: bigint;
  /** @defaultValue 'hero_os_hourly' when the record leaves it out */
  appliesTo: Category;
  /** Event time, epoch milliseconds (sub-millisecond digits are dropped). */
  occurredAt: number;
  /** The producer's own price in micros; when set the price book is not used. */
  costMicros: bigint | null;
  /** Kept and stored, never interpreted. */
  meta: Record<string, unknown> | null;
}

/** The price of one kind: `priceMicros` per `per` units of quantity. */
export interface Price {
  priceMicros: bigint;
  per: bigint;
}

/**
 * Prices by kind; a kind without an entry is unpriced. `other` never has one: those
 * records must carry `cost_micros`.
 */
export type PriceBook = Readonly<Record<Kind, Price | undefined>>;

/** One rung of the discount ladder. */
export interface LadderStep {
  tier: Exclude<Tier, 'none'>;
  /** Tenure in whole days from which this tier applies. */
  minDays: number;
  /** Exact multiplier in (0, 1]. */
  multiplier: Ratio;
}

/**
 * The discount ladder: steps with strictly increasing `minDays` and non-increasing
 * multipliers. Below the first step the tier is `none` (x1).
 */
export interface Ladder {
  steps: readonly LadderStep[];
}

/** A plan of the registry (SPEC 7): `vmCount` VMs for `periodDays` days at `priceMicros`. */
export interface Plan {
  id: string;
  priceMicros: bigint;
  vmCount: number;
  periodDays: number;
}

/**
 * A ledger entry (payment, purchase…) folded into the shard log entry that applied it,
 * with what the fold changes besides the balance. The shard log keeps it and fold jobs
 * carry it, so it lives here, below both.
 */
export interface FoldedEntry {
  id: string;
  a: string;
  d: bigint;
  /** payments: paid_at (ms), the candidate for first_paid_at */
  paid?: number;
  /** plan purchases: the plan now active */
  plan?: { id: string; seq: number; vms: number; end: number };
  /** VM allocations: the 1-based slot claimed under plan `seq`; vm_quota_used is the highest slot of the current plan. */
  vm?: { seq: number; slot: number };
  /** KYC decisions (admin): the new kyc_verified. */
  kyc?: boolean;
  /** Alert settings (admin): the account's own low-balance threshold; null goes back to LOW_BALANCE_MICROS. */
  low?: bigint | null;
  /** Ladder tick: the discount tier as of the tick's `now`. */
  tier?: string;
  /** Ladder tick: the plan (its plan_seq) whose period ended; cleared only while it is still the current one. */
  expire?: number;
  /** Refused as `amount_out_of_range`: folded with `d` 0 so it is never tried again; the ledger entry keeps its amount. */
  refused?: boolean;
}
