import type { Job, Queue, QueueEvents } from 'bullmq';
import type { FoldedEntry } from '../domain/index.js';
import type { FoldJob, FoldJobEntry, ShardJob, ShardJobResult } from './jobs.js';
import { FOLD_JOB_OPTIONS } from './jobOptions.js';
import { jobOutcome, type JobOutcome } from './outcome.js';

/** A folded entry as job data (JSON has no bigint), and back: the one pair of conversions. */
export function toFoldJobEntry({ d, low, ...rest }: FoldedEntry): FoldJobEntry {
  return { ...rest, d: d.toString(), ...(low !== undefined ? { low: low === null ? null : low.toString() } : {}) };
}

export function fromFoldJobEntry({ d, low, ...rest }: FoldJobEntry): FoldedEntry {
  return { ...rest, d: BigInt(d), ...(low !== undefined ? { low: low === null ? null : BigInt(low) } : {}) };
}

/** BullMQ job ids may not contain ':'; ledger ids never contain '~', so this is one-to-one. */
export const foldJobId = (entryId: string): string => `fold-${entryId.replaceAll(':', '~')}`;

/**
 * Asks the shard owner to fold one entry. The job id comes from the entry id, so adding it
 * again (a retried webhook, a retried request) is a no-op while the job exists; a job that
 * ran out of attempts is retried. The owner folds an entry once whatever the number of jobs.
 */
export async function enqueueFold(queue: Queue<ShardJob, ShardJobResult>, entry: FoldedEntry): Promise<Job<ShardJob, ShardJobResult>> {
  const jobId = foldJobId(entry.id);
  const data: FoldJob = { type: 'fold', entries: [toFoldJobEntry(entry)] };
  const job = await queue.add('fold', data, { ...FOLD_JOB_OPTIONS, jobId });
  // A failed retry is harmless: the owner also folds every unfolded entry when it takes the shard.
  if ((await job.getState()) === 'failed') await job.retry('failed').catch(() => undefined);
  return job;
}

/**
 * Waits for a job's outcome on its queue's events (no polling), at most `timeoutMs`: a
 * missing owner shows up as `pending`. A wait that ends without an answer asks Redis for
 * the job's state once, so a failure is told apart from a timeout.
 */
export async function awaitJob(
  queue: Queue<ShardJob, ShardJobResult>,
  job: Job<ShardJob, ShardJobResult>,
  events: QueueEvents,
  timeoutMs: number,
): Promise<JobOutcome> {
  try {
    const result = (await job.waitUntilFinished(events, timeoutMs)) as ShardJobResult | undefined;
    return { state: 'completed', result };
  } catch {
    const outcome = await jobOutcome(queue, job.id ?? '');
    return outcome.state === 'unknown' ? { state: 'pending' } : outcome;
  }
}

/**
 * Polls a job until it completes or fails, at most `timeoutMs` (a shard owner folds within
 * milliseconds when it is running; a missing owner shows up as `pending`).
 */
export async function waitForJob(queue: Queue<ShardJob, ShardJobResult>, jobId: string, timeoutMs: number, intervalMs = 20): Promise<JobOutcome> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outcome = await jobOutcome(queue, jobId);
    if (outcome.state === 'completed' || outcome.state === 'failed') return outcome;
    if (Date.now() >= deadline) return { state: 'pending' };
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
