import type { Queue } from 'bullmq';
import type { Category, Kind, UsageRecord } from '../domain/index.js';
import type { ShardJob, ShardJobResult, UsageBatchJob, WireRecord } from './jobs.js';
import { USAGE_JOB_OPTIONS } from './jobOptions.js';

/**
 * A validated record as a usage job carries it (WireRecord): written by the bridge with
 * the message's publish time and stream sequence, read back by the shard owner, which
 * re-validates nothing. `meta` does not travel: pricing never reads it.
 */
export function toWire(r: UsageRecord, publishedAt: number, streamSeq: number): WireRecord {
  return [
    r.id,
    r.accountId,
    r.kind,
    r.quantity.toString(),
    r.appliesTo,
    r.occurredAt,
    r.costMicros === null ? null : r.costMicros.toString(),
    publishedAt,
    streamSeq,
  ];
}

/** The record a WireRecord carries (its publish time and stream sequence are read from the tuple). */
export function fromWire(w: WireRecord): UsageRecord {
  return {
    id: w[0],
    accountId: w[1],
    kind: w[2] as Kind,
    quantity: BigInt(w[3]),
    appliesTo: w[4] as Category,
    occurredAt: w[5],
    costMicros: w[6] === null ? null : BigInt(w[6]),
    meta: null,
  };
}

/**
 * Adds a usage batch to its shard's queue under the bridge's job id: adding it again (the
 * bridge's poll finding it lost or failed) is a no-op while the job exists.
 */
export async function enqueueUsageBatch(queue: Queue<ShardJob, ShardJobResult>, jobId: string, data: UsageBatchJob): Promise<void> {
  await queue.add('usage', data, { ...USAGE_JOB_OPTIONS, jobId });
}
