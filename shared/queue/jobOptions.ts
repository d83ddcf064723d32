import type { JobsOptions } from 'bullmq';

/**
 * How each kind of job is retried and kept, in one place: the bridge's usage batches, the
 * API's folds, a ladder tick's per-shard jobs, and the scheduler's fired ticks.
 */

/** A usage batch: retried for minutes (the bridge re-adds it past its attempts); kept briefly for the bridge's poll. */
export const USAGE_JOB_OPTIONS = {
  attempts: 20,
  backoff: { type: 'exponential', delay: 200 },
  removeOnComplete: { age: 600, count: 500 },
  removeOnFail: { age: 3600 },
} as const satisfies JobsOptions;

/** A fold of ledger entries (payments, plans, KYC, allocations). */
export const FOLD_JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 200 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 86_400 },
} as const satisfies JobsOptions;

/** One shard's part of a ladder tick. */
export const TICK_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: { age: 3600 },
  removeOnFail: { age: 86_400 },
} as const satisfies JobsOptions;

/** The BullMQ queue that carries the scheduled ticks (not a shard queue: the tick fans out to those). */
export const SCHEDULER_QUEUE = 'tally-scheduler';

/** A ladder tick fired by the scheduler's job scheduler. */
export const SCHEDULED_TICK_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 5000 },
  removeOnComplete: { count: 100 },
  removeOnFail: { count: 100 },
} as const satisfies JobsOptions;
