import type { Queue } from 'bullmq';
import type { ShardJob, ShardJobResult } from './jobs.js';

export type JobOutcome =
  { state: 'completed'; result: ShardJobResult | undefined } | { state: 'failed'; reason: string } | { state: 'pending' } | { state: 'unknown' };

/**
 * A job's outcome as Redis holds it: the state from BullMQ's own sets, then only the
 * `returnvalue` or `failedReason` field of the job's hash (a usage job's data is ~120 KiB;
 * reading the whole job for its result would fetch it every time). Only a process that
 * can write to Redis can make a job completed, which is why the bridge acks on this and
 * never on a NATS message alone.
 */
export async function jobOutcome(queue: Queue<ShardJob, ShardJobResult>, jobId: string): Promise<JobOutcome> {
  const state = await queue.getJobState(jobId);
  if (state === 'unknown') return { state };
  if (state !== 'completed' && state !== 'failed') return { state: 'pending' };
  const client = await queue.client;
  const field = state === 'completed' ? 'returnvalue' : 'failedReason';
  const raw = await client.hget(queue.toKey(jobId), field);
  if (state === 'failed') return { state, reason: raw ?? 'failed' };
  return { state, result: raw ? ((JSON.parse(raw) as ShardJobResult | null) ?? undefined) : undefined };
}
