/**
 * Publish-to-charged latency at a steady rate below the maximum (the benchmark uses half
 * the measured end-to-end rate, so queues stay short and what is measured is the
 * pipeline's own delay, not a backlog).
 *
 * Method: `tally replay`'s engine publishes at `rate` (token bucket) and notes, per record
 * id, the wall-clock time just before `js.publish`. Once the stream has drained, every
 * shard-log entry written since the phase began is read: its `at` is the time the shard
 * owner built the entry, immediately before the insert that makes the batch's charges
 * durable. Latency = `at` - publish time, per record id. Same machine, same clock. It
 * leaves out the insert itself (one insertOne, tens of ms on FerretDB) and the NATS ack
 * that follows it, and includes the bridge's linger (BRIDGE_LINGER_MS, 150 ms).
 */
import { connectMongo, type ShardLogDoc } from '../../shared/store/index.js';
import { COLLECTIONS, unpackRecords } from '../../shared/store/internal.js';
import { USAGE_STREAM, type Bus } from '../../shared/bus/index.js';
import { runReplay } from '../../services/cli/load/replay.js';
import type { RecordedLine } from '../support/stream.js';
import { recordedBatches, waitDrained } from './harness.js';

export interface LatencyResult {
  records: number;
  target_per_s: number;
  achieved_per_s: number;
  /** Record ids matched between publish and the shard log (= distinct valid records of the phase). */
  samples: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** The value at quantile q of an ascending array (nearest rank). */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export async function latencyAtRate(bus: Bus, mongoUrl: string, db: string, lines: readonly RecordedLine[], rate: number): Promise<LatencyResult> {
  const sentAt = new Map<string, number>();
  const phaseStart = new Date();
  const report = await runReplay({
    nc: bus.nc,
    lines: recordedBatches(lines),
    rate,
    window: 4000,
    onSend: (id, at) => {
      // A repeated id keeps its first publish: the first copy is the one that gets charged.
      if (id !== undefined && !sentAt.has(id)) sentAt.set(id, at);
    },
  });
  if (report.errors > 0) throw new Error(`latency phase: ${report.errors} publishes failed (${report.first_error})`);
  await waitDrained(bus.jsm, (await bus.jsm.streams.info(USAGE_STREAM)).state.last_seq);
  const mongo = await connectMongo(mongoUrl, db);
  const latencies: number[] = [];
  try {
    const entries = mongo.db.collection<ShardLogDoc>(COLLECTIONS.shardLog).find({ at: { $gte: phaseStart } }, { projection: { rids: 1, ids: 1, at: 1 } });
    for await (const e of entries) {
      const at = e.at.getTime();
      for (const id of unpackRecords(e).ids) {
        const sent = sentAt.get(id);
        if (sent !== undefined) latencies.push(at - sent);
      }
    }
  } finally {
    await mongo.close();
  }
  const sorted = Float64Array.from(latencies).sort();
  return {
    records: lines.length,
    target_per_s: Math.round(rate),
    achieved_per_s: report.rate,
    samples: sorted.length,
    p50_ms: Math.round(quantile(sorted, 0.5)),
    p99_ms: Math.round(quantile(sorted, 0.99)),
    max_ms: Math.round(quantile(sorted, 1)),
  };
}
