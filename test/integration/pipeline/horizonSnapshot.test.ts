import { Writable } from 'node:stream';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../shared/config/index.js';
import { ShardQueues, redisConnection, waitForJob, type ShardJob, type ShardJobResult, type WireRecord } from '../../../shared/queue/index.js';
import { findHorizonSnapshot, sumShardLog, type HorizonManifestDoc, type ShardLogDoc } from '../../../shared/store/index.js';
import { COLLECTIONS, forEachRecord, horizonChunksCollection, listAccounts } from '../../../shared/store/internal.js';
import { startBridge } from '../../../services/bridge/main.js';
import { startWorker } from '../../../services/worker/main.js';
import { probe, testConfig, type Probe } from '../../support/pipeline.js';
import { waitFor } from '../../support/processes.js';
import { startTestServers, testLogger, type TestServers } from '../../support/servers.js';
import { expectedBalances, publishAll, type RecordedLine } from '../../support/stream.js';
import { usage } from '../../support/records.js';

const OCCURRED = new Date();
const costing = (id: string, account: string): RecordedLine => ({
  subject: `usage.${account}`,
  payload: JSON.stringify(usage(id, account, { kind: 'other', applies_to: 'hero_os_hourly', quantity: 1, cost_micros: 1000 + Number(id.slice(2)) }, OCCURRED)),
});
const round = (prefix: string, n: number): RecordedLine[] => Array.from({ length: n }, (_, i) => costing(`${prefix}-${i}`, `acct-${i % 3}`));

/** A worker logger whose lines the test reads: 'shard loaded' says whether the horizon came from a snapshot. */
function capturing(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines: () => lines };
}

/**
 * Issue 21: a takeover restores the dedup horizon from the newest snapshot and reads only
 * the log entries after it; a snapshot it cannot use sends it back to the log. Either way
 * the new owner answers as the old one would: the same message again is a redelivery (not
 * charged, not counted), the same record in a new message a duplicate, a new id charged.
 * One shard, published without Nats-Msg-Id, so the owner's dedup is what decides.
 */
describe('shard takeover from a horizon snapshot (issue 21)', () => {
  let servers: TestServers;
  let config: Config;
  let p: Probe;
  let bridge: Awaited<ReturnType<typeof startBridge>>;
  let redis: Redis;
  let queue: Queue<ShardJob, ShardJobResult>;
  const sent: RecordedLine[] = [];

  beforeAll(async () => {
    servers = await startTestServers();
    config = testConfig(servers, { SHARDS: '1' });
    p = await probe(config, servers);
    bridge = await startBridge(config, servers, testLogger());
    redis = redisConnection(servers.redisUrl);
    queue = new ShardQueues(redis, config.mongoDb, 1).forShard(0);
  });
  afterAll(async () => {
    await bridge?.stop();
    await queue?.close();
    redis?.disconnect();
    await p?.close();
    await servers?.stop();
  });

  const publish = async (lines: RecordedLine[]) => {
    sent.push(...lines);
    await publishAll(p.bus.js, lines, false);
  };
  /** The shard log's totals once they reach `charged` and `duplicates`, for exact asserts. */
  const logTotals = async (charged: number, duplicates: number) => {
    await p.drained();
    await waitFor(
      async () => {
        const t = await sumShardLog(p.mongo.db);
        return t.charged >= charged && t.duplicates >= duplicates;
      },
      30_000,
      `${charged} charged and ${duplicates} duplicates in the log`,
    );
    const t = await sumShardLog(p.mongo.db);
    return [t.charged, t.duplicates];
  };
  const head = async (): Promise<number> =>
    (await p.mongo.db.collection<ShardLogDoc>(COLLECTIONS.shardLog).find({}).sort({ seq: -1 }).limit(1).next())?.seq ?? 0;

  /** Every charged record again, each with the stream sequence of its message: what a retried or re-added job carries. */
  const redeliver = async (job: string): Promise<ShardJobResult | undefined> => {
    const records: WireRecord[] = [];
    for await (const entry of p.mongo.db.collection<ShardLogDoc>(COLLECTIONS.shardLog).find({})) {
      forEachRecord(entry, (account, id, seq) => records.push([id, account, 'other', '1000000', 'hero_os_hourly', OCCURRED.getTime(), '1', Date.now(), seq]));
    }
    expect(records.every((r) => r[8]! > 0)).toBe(true);
    await queue.add('usage', { type: 'usage', bridge: 'test-redeliver', records }, { jobId: job });
    const outcome = await waitForJob(queue, job, 30_000);
    return outcome.state === 'completed' ? outcome.result : undefined;
  };

  let manifest: HorizonManifestDoc;

  it('restores the newest snapshot and reads only the log after it', async () => {
    const first = await startWorker(config, servers, testLogger());
    await publish(round('a', 60));
    expect(await logTotals(60, 0)).toEqual([60, 0]);
    // The first commit after a load without a snapshot takes one; the next is due HORIZON_SNAPSHOT_MS later.
    await waitFor(async () => (await findHorizonSnapshot(p.mongo.db, 0)) !== null, 20_000, 'a horizon snapshot');
    manifest = (await findHorizonSnapshot(p.mongo.db, 0))!;
    await publish(round('b', 60));
    expect(await logTotals(120, 0)).toEqual([120, 0]);
    await first.stop();
    expect(await findHorizonSnapshot(p.mongo.db, 0)).toEqual(manifest);
    expect(manifest.seq).toBeLessThan(await head());

    const log = capturing();
    const second = await startWorker(config, servers, log.logger);
    expect(log.lines().filter((l) => l.msg === 'shard loaded')).toEqual([expect.objectContaining({ shard: 0, snapshot: manifest.seq, ids: 120 })]);
    expect(await redeliver('redeliver-1')).toEqual({ seq: null, charged: 0, duplicates: 0 });
    await publish(sent.slice(0, 120));
    await publish(round('c', 30));
    expect(await logTotals(150, 120)).toEqual([150, 120]);
    await second.stop();
  });

  it('reads the whole log when a chunk of the snapshot is missing, and answers the same', async () => {
    expect(await findHorizonSnapshot(p.mongo.db, 0)).toEqual(manifest);
    await p.mongo.db.collection<{ _id: number }>(horizonChunksCollection(0, manifest.seq)).deleteOne({ _id: 0 });

    const log = capturing();
    // A short interval, to see the next snapshot come after it.
    const third = await startWorker({ ...config, horizonSnapshotMs: 1000 }, servers, log.logger);
    expect(log.lines().filter((l) => l.msg === 'horizon snapshot unusable; reading the log')).toHaveLength(1);
    expect(log.lines().filter((l) => l.msg === 'shard loaded')).toEqual([expect.objectContaining({ shard: 0, snapshot: null, ids: 150 })]);
    expect(await redeliver('redeliver-2')).toEqual({ seq: null, charged: 0, duplicates: 0 });
    await publish(round('c', 30));
    await publish(round('d', 20));
    expect(await logTotals(170, 150)).toEqual([170, 150]);
    // A load without a snapshot takes one at its first commit; the next comes an interval later.
    await waitFor(async () => ((await findHorizonSnapshot(p.mongo.db, 0))?.seq ?? 0) > manifest.seq, 20_000, 'a newer snapshot');
    const taken = (await findHorizonSnapshot(p.mongo.db, 0))!;
    await new Promise((r) => setTimeout(r, 1100));
    await publish(round('e', 10));
    expect(await logTotals(180, 150)).toEqual([180, 150]);
    await waitFor(async () => ((await findHorizonSnapshot(p.mongo.db, 0))?.seq ?? 0) > taken.seq, 20_000, 'a snapshot an interval later');
    await third.stop();
    const latest = (await findHorizonSnapshot(p.mongo.db, 0))!;
    expect(latest.keys).toBe(180);
    // Older snapshots go, the damaged one too.
    const names = (await p.mongo.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
    expect(names.filter((n) => n.startsWith('horizon_0_'))).toEqual([horizonChunksCollection(0, latest.seq)]);

    const balances = new Map((await listAccounts(p.mongo.db)).map((a) => [a._id, a.balance_micros]));
    expect(balances).toEqual(expectedBalances(config, sent).balances);
  });
});
