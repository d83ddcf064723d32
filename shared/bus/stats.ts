import type { JetStreamManager } from '@nats-io/jetstream';
import type { Db } from 'mongodb';
import { sumShardLog } from '../store/index.js';
import { BRIDGE_CONSUMER, DLQ_STREAM, USAGE_STREAM } from './subjects.js';

/** The pipeline's counts (SPEC 13 `tally stats`, `GET /v1/stats`). */
export interface PipelineStats {
  /** Messages in the usage stream. */
  received: number;
  /** Records charged (distinct ids in the shard log). */
  charged: number;
  /** Repeated ids the shard owners charged nothing for. */
  duplicates: number;
  /** Dead letters stored. */
  dead: number;
  /**
   * What is not settled yet: messages not acknowledged by a bridge, plus `unprojected`.
   * 0 means every record accepted so far is charged and every read shows it (SPEC 9).
   */
  pending: number;
  /** Accounts whose charges are applied but not yet in their readable projection (a shard with no figure counts 1). */
  unprojected: number;
}

/** The shard owners' figures of unwritten projections (shared/queue's projection lag). */
export type ProjectionLagReader = () => Promise<{ accounts: number; unknownShards: number; version: string }>;

async function readSettlement(jsm: JetStreamManager, lag: ProjectionLagReader): Promise<Pick<PipelineStats, 'pending' | 'unprojected'> & { version: string }> {
  const [consumer, projection] = await Promise.all([jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER), lag()]);
  const unprojected = projection.accounts + projection.unknownShards;
  return { pending: consumer.num_pending + consumer.num_ack_pending + unprojected, unprojected, version: projection.version };
}

/** `pending` and `unprojected` alone: one NATS request and one Redis read, no store read (what `stats --wait` polls). */
export async function readPending(jsm: JetStreamManager, lag: ProjectionLagReader): Promise<Pick<PipelineStats, 'pending' | 'unprojected'>> {
  const { pending, unprojected } = await readSettlement(jsm, lag);
  return { pending, unprojected };
}

/**
 * Reads the counts: the pending part first, then two stream infos and a scan of the shard
 * log (an operator read). Read in this order, a `pending` of 0 guarantees the counts
 * include every record it covered.
 */
export async function readPipelineStats(jsm: JetStreamManager, db: Db, lag: ProjectionLagReader): Promise<PipelineStats> {
  const pending = await readPending(jsm, lag);
  const usage = await jsm.streams.info(USAGE_STREAM);
  const dlq = await jsm.streams.info(DLQ_STREAM);
  const totals = await sumShardLog(db);
  return { received: usage.state.messages, charged: totals.charged, duplicates: totals.duplicates, dead: dlq.state.messages, ...pending };
}

/**
 * What a cache of projections needs to know (the operator dashboard's account list): a tag
 * that changes whenever an owner applies anything, and whether everything is settled.
 */
export async function readSettledVersion(jsm: JetStreamManager, lag: ProjectionLagReader): Promise<{ tag: string; settled: boolean }> {
  const { pending, version } = await readSettlement(jsm, lag);
  return { tag: version, settled: pending === 0 };
}
