import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import { tickRuns } from '../runtime/index.js';
import { insertTick, type TickDoc } from '../store/index.js';
import { TICK_JOB_OPTIONS, waitForJob, type ShardQueues, type TickCounts, type TickJob } from '../queue/index.js';

export interface TickRunnerDeps {
  queues: ShardQueues;
  db: Db;
  logger?: Logger;
}

export interface TickOptions {
  /** The business time the tick runs as of (epoch ms): tiers and expiry are decided at this instant. */
  now: number;
  /** Who asked: `scheduler`, `admin` or `cli`; kept in the tick history. */
  source: string;
  /** Same id, same jobs: a retried run of one tick adds nothing. @defaultValue a fresh id */
  tickId?: string;
  /** How long to wait for the shard owners (LADDER_TICK_TIMEOUT_MS). */
  timeoutMs: number;
}

/** The tick history document as JSON: its `_id` as `tick_id`, instants as RFC 3339 strings. */
export type TickReport = { tick_id: string } & Omit<TickDoc, '_id' | 'now' | 'started_at' | 'finished_at'> &
  Record<'now' | 'started_at' | 'finished_at', string>;

/** Tick ids end up in BullMQ job ids, which may not contain ':'. */
export const tickIdFrom = (raw: string): string => raw.replace(/[^A-Za-z0-9._-]/g, '-');

/**
 * The ladder tick (SPEC 8), the same whether the scheduler, the admin route or the CLI runs
 * it: one tick job per shard queue, so each account is changed by the one owner of its
 * shard (no update races), then one history document with the summed counts. Two ticks at
 * once are two job sets the owners run one after the other; the second finds nothing to do.
 */
export async function runLadderTick(deps: TickRunnerDeps, options: TickOptions): Promise<TickReport> {
  const started = new Date();
  const tickId = tickIdFrom(options.tickId ?? `tick-${options.now}-${randomUUID().slice(0, 8)}`);
  const shards = deps.queues.shards;
  const data: TickJob = { type: 'tick', tickId, now: options.now };
  const jobIds = await Promise.all(
    Array.from({ length: shards }, async (_, shard) => {
      const jobId = `${tickId}-s${shard}`;
      await deps.queues.forShard(shard).add('tick', data, { ...TICK_JOB_OPTIONS, jobId });
      return jobId;
    }),
  );
  const outcomes = await Promise.all(jobIds.map((id, shard) => waitForJob(deps.queues.forShard(shard), id, options.timeoutMs, 50)));
  const sum: TickCounts = { accounts: 0, tierChanges: 0, plansExpired: 0, allocationsExpired: 0 };
  let done = 0;
  for (const outcome of outcomes) {
    if (outcome.state !== 'completed') continue;
    done++;
    const counts = outcome.result?.tick;
    if (!counts) continue;
    sum.accounts += counts.accounts;
    sum.tierChanges += counts.tierChanges;
    sum.plansExpired += counts.plansExpired;
    sum.allocationsExpired += counts.allocationsExpired;
  }
  const doc: TickDoc = {
    _id: tickId,
    source: options.source,
    now: new Date(options.now),
    started_at: started,
    finished_at: new Date(),
    shards,
    shards_done: done,
    complete: done === shards,
    accounts: sum.accounts,
    tier_changes: sum.tierChanges,
    plans_expired: sum.plansExpired,
    allocations_expired: sum.allocationsExpired,
  };
  await insertTick(deps.db, doc);
  tickRuns.inc({ source: options.source, outcome: doc.complete ? 'complete' : 'partial' });
  deps.logger?.info({ tick: tickId, source: options.source, shardsDone: done, shards, ...sum }, 'ladder tick finished');
  return tickReport(doc);
}

export function tickReport(doc: TickDoc): TickReport {
  return {
    tick_id: doc._id,
    source: doc.source,
    now: doc.now.toISOString(),
    started_at: doc.started_at.toISOString(),
    finished_at: doc.finished_at.toISOString(),
    shards: doc.shards,
    shards_done: doc.shards_done,
    complete: doc.complete,
    accounts: doc.accounts,
    tier_changes: doc.tier_changes,
    plans_expired: doc.plans_expired,
    allocations_expired: doc.allocations_expired,
  };
}
