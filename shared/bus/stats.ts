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
  /** Messages not yet acknowledged by a bridge: 0 once everything is applied. */
  pending: number;
}

/** Reads the counts: two stream infos, one consumer info and a scan of the shard log (an operator read). */
export async function readPipelineStats(jsm: JetStreamManager, db: Db): Promise<PipelineStats> {
  const usage = await jsm.streams.info(USAGE_STREAM);
  const dlq = await jsm.streams.info(DLQ_STREAM);
  const consumer = await jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER);
  const totals = await sumShardLog(db);
  return {
    received: usage.state.messages,
    charged: totals.charged,
    duplicates: totals.duplicates,
    dead: dlq.state.messages,
    pending: consumer.num_pending + consumer.num_ack_pending,
  };
}
