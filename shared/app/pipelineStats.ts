import type { JetStreamManager } from '@nats-io/jetstream';
import { BRIDGE_CONSUMER, DLQ_STREAM, USAGE_STREAM } from '../bus/index.js';

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

/**
 * Where the read model stands (shared/readModel's AccountReader.status): shards not loaded
 * (pending), a version that moves with every write, and the log's totals when known.
 */
export type ProjectionLagReader = () => Promise<{ unknownShards: number; version: string; totals: { charged: number; duplicates: number } | null }>;

async function readSettlement(
  jsm: JetStreamManager,
  lag: ProjectionLagReader,
): Promise<Pick<PipelineStats, 'pending' | 'unprojected'> & { version: string; totals: { charged: number; duplicates: number } | null }> {
  const [consumer, projection] = await Promise.all([jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER), lag()]);
  const unprojected = projection.unknownShards;
  return { pending: consumer.num_pending + consumer.num_ack_pending + unprojected, unprojected, version: projection.version, totals: projection.totals };
}

/** `pending` and `unprojected` alone: one NATS request and one Redis read, no store read (what `stats --wait` polls). */
export async function readPending(jsm: JetStreamManager, lag: ProjectionLagReader): Promise<Pick<PipelineStats, 'pending' | 'unprojected'>> {
  const { pending, unprojected } = await readSettlement(jsm, lag);
  return { pending, unprojected };
}

/** The shard log's totals summed from the store (a scan of every entry: callers bound how often). */
export type LogTotalsReader = () => Promise<{ charged: number; duplicates: number }>;

/**
 * Reads the counts: no store read while every shard's read model is loaded (the owners
 * keep the log's totals in it); the shard log is summed (`sumLog`) only when Redis has
 * lost a model. `pending` and the totals come from one read of the model, so a `pending`
 * of 0 guarantees the totals include every record it covered (a summed log means a shard
 * without a model, so `pending` > 0: a caller may serve an older sum meanwhile).
 */
export async function readPipelineStats(jsm: JetStreamManager, sumLog: LogTotalsReader, lag: ProjectionLagReader): Promise<PipelineStats> {
  const { pending, unprojected, totals } = await readSettlement(jsm, lag);
  const [usage, dlq] = await Promise.all([jsm.streams.info(USAGE_STREAM), jsm.streams.info(DLQ_STREAM)]);
  const { charged, duplicates } = totals ?? (await sumLog());
  return { received: usage.state.messages, charged, duplicates, dead: dlq.state.messages, pending, unprojected };
}

/**
 * What a cache of projections needs to know (the operator dashboard's account list): a tag
 * that changes whenever an owner applies anything, and whether everything is settled.
 */
export async function readSettledVersion(jsm: JetStreamManager, lag: ProjectionLagReader): Promise<{ tag: string; settled: boolean }> {
  const { pending, version } = await readSettlement(jsm, lag);
  return { tag: version, settled: pending === 0 };
}
