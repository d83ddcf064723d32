import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duplicateRedis, queueAddress, redisConnection, shardQueueName, ShardQueues, type ShardJob, type ShardJobResult } from '../../../shared/queue/index.js';
import { redisGroup } from '../../../shared/redis/index.js';
import { AccountReadModel } from '../../../shared/readModel/index.js';
import type { AccountDoc } from '../../../shared/store/index.js';
import { newAccount } from '../../../shared/domain/index.js';
import { Leases } from '../../../services/worker/leases.js';
import { startRedisCluster, startRedisSentinelSet, type RedisClusterSet, type RedisSentinelSet } from '../../support/redisEngines.js';

/** A job of our own kind on the product's queues: these tests prove the keys and connections, not the pipeline. */
const probeJob = (n: number): ShardJob => ({ type: 'probe', n }) as unknown as ShardJob;

/** A consumer built as the product's shard worker builds one: its own duplicated connection, the queue's tagged prefix. */
function consumer(redis: Redis, namespace: string, queue: string, errors: Error[]): { worker: Worker; close(): Promise<void> } {
  const connection = duplicateRedis(redis, { maxRetriesPerRequest: null });
  connection.on('error', () => undefined);
  const { name, prefix } = queueAddress(namespace, queue);
  const worker = new Worker(name, async (job) => ({ doubled: (job.data as { n: number }).n * 2 }), { connection, prefix, concurrency: 1 });
  worker.on('error', (err) => errors.push(err));
  return {
    worker,
    close: async () => {
      await worker.close();
      connection.disconnect();
    },
  };
}

async function returned(queue: Queue<ShardJob, ShardJobResult>, jobId: string, timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // The state first, then the job: a job read before it completed has no return value.
    if ((await queue.getJobState(jobId)) === 'completed') return (await queue.getJob(jobId))?.returnvalue;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${jobId} not completed within ${timeoutMs} ms`);
}

const account = (id: string, shard: number, balance: bigint): AccountDoc => ({
  ...newAccount(id, shard, new Date(0)),
  seq: 1,
  balance_micros: balance,
  low: false,
  depleted: false,
});

describe('Redis Sentinel (primary + replica + 3 sentinels)', () => {
  let set: RedisSentinelSet;
  let redis: Redis;
  beforeAll(async () => {
    set = await startRedisSentinelSet();
    // The set requires passwords: the data nodes' is in the URL, the sentinels' their own.
    redis = redisConnection(set.url, { sentinelPassword: set.sentinelPassword });
    redis.on('error', () => undefined);
  });
  afterAll(async () => {
    redis?.disconnect();
    await set?.close();
  });

  it('processes BullMQ jobs through redis+sentinel://, and again after kill -9 of the primary and a promotion', async () => {
    const errors: Error[] = [];
    const queues = new ShardQueues(redis, 'sentinel', 1);
    const queue = queues.forShard(0);
    const c = consumer(redis, 'sentinel', shardQueueName(0), errors);
    try {
      await queue.add('probe', probeJob(1), { jobId: 'before' });
      expect(await returned(queue, 'before', 10_000)).toEqual({ doubled: 2 });
      const model = new AccountReadModel(redis, 'sentinel', 1);
      expect(await model.replace(0, { seq: 1, charged: 1, duplicates: 0 }, [account('a1', 0, 5n)])).toBe('written');

      const started = Date.now();
      const former = await set.killPrimary();
      const promoted = await set.waitForFailover(former);
      const failoverMs = Date.now() - started;
      expect(promoted).not.toBe(former);
      expect(set.dataPorts).toContain(promoted);

      // Added through the same client, which asks the sentinels for the new primary by itself.
      await queue.add('probe', probeJob(21), { jobId: 'after' });
      expect(await returned(queue, 'after', 20_000)).toEqual({ doubled: 42 });
      // The replica had the read model (asynchronous replication, quiet since): readable on the new primary.
      expect((await model.read('a1', 0))?.balance_micros).toBe(5n);
      expect(await model.write(0, { seq: 2, charged: 2, duplicates: 0 }, [account('a1', 0, 7n)])).toBe('written');
      expect((await model.read('a1', 0))?.balance_micros).toBe(7n);
      console.log(`sentinel failover: primary ${former} killed, ${promoted} promoted and serving after ${failoverMs} ms`);
    } finally {
      await c.close();
      await queues.close();
    }
  }, 60_000);
});

describe('Redis Cluster (3 primaries)', () => {
  let cluster: RedisClusterSet;
  let redis: Redis;
  const SHARDS = 16;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    redis = redisConnection(cluster.url);
    redis.on('error', () => undefined);
  });
  afterAll(async () => {
    redis?.disconnect();
    await cluster?.close();
  });

  it('runs the 16 shard queues with no CROSSSLOT error, spread over more than one node', async () => {
    const errors: Error[] = [];
    const queues = new ShardQueues(redis, 'cluster', SHARDS);
    const consumers = Array.from({ length: SHARDS }, (_, shard) => consumer(redis, 'cluster', shardQueueName(shard), errors));
    try {
      await Promise.all(Array.from({ length: SHARDS }, (_, shard) => queues.forShard(shard).add('probe', probeJob(shard), { jobId: `job-${shard}` })));
      for (let shard = 0; shard < SHARDS; shard++) expect(await returned(queues.forShard(shard), `job-${shard}`, 20_000)).toEqual({ doubled: shard * 2 });
      // A job awaited through the queue's completion events (QueueEvents on a duplicated cluster connection).
      const events = await queues.events(5);
      const job = await queues.forShard(5).add('probe', probeJob(50), { jobId: 'evented' });
      expect(await job.waitUntilFinished(events, 20_000)).toEqual({ doubled: 100 });

      const nodes = new Set<number>();
      for (let shard = 0; shard < SHARDS; shard++) {
        const { name, prefix } = queueAddress('cluster', shardQueueName(shard));
        nodes.add(await cluster.nodeOf(`${prefix}:${name}:wait`));
      }
      expect(nodes.size).toBeGreaterThan(1);
      expect(errors.map((e) => e.message)).toEqual([]);
      console.log(`redis cluster: ${SHARDS} shard queues on ${nodes.size} of ${cluster.ports.length} nodes`);
    } finally {
      await Promise.all(consumers.map((c) => c.close()));
      await queues.close();
    }
  }, 60_000);

  it('the read model writes, replaces and reads every shard, and leases work', async () => {
    const model = new AccountReadModel(redis, 'cluster', SHARDS);
    for (let shard = 0; shard < SHARDS; shard++) {
      const docs = [account(`acct-${shard}-a`, shard, BigInt(shard)), account(`acct-${shard}-b`, shard, 1n)];
      expect(await model.write(shard, { seq: 1, charged: 0, duplicates: 0 }, docs)).toBe('not_loaded');
      expect(await model.replace(shard, { seq: 1, charged: 2, duplicates: 0 }, docs)).toBe('written');
      expect(await model.write(shard, { seq: 2, charged: 3, duplicates: 0 }, [account(`acct-${shard}-a`, shard, 100n + BigInt(shard))])).toBe('written');
      expect(await model.write(shard, { seq: 1, charged: 3, duplicates: 0 }, [account(`acct-${shard}-a`, shard, 0n)])).toBe('stale');
    }
    for (let shard = 0; shard < SHARDS; shard++) {
      expect((await model.read(`acct-${shard}-a`, shard))?.balance_micros).toBe(100n + BigInt(shard));
      expect(await model.readShard(shard)).toHaveLength(2);
    }
    expect((await model.positions()).map((p) => p?.seq)).toEqual(Array.from({ length: SHARDS }, () => 2));
    const models = new Set<number>();
    for (let shard = 0; shard < SHARDS; shard++) models.add(await cluster.nodeOf(`${redisGroup('cluster', shard)}:accounts`));
    expect(models.size).toBeGreaterThan(1);

    const a = new Leases(redis, 'cluster', 'worker-a', 5000);
    const b = new Leases(redis, 'cluster', 'worker-b', 5000);
    expect(await a.acquire(3)).toBe(true);
    expect(await b.acquire(3)).toBe(false);
    expect(await a.renew(3)).toBe(true);
    expect(await b.renew(3)).toBe(false);
    expect(await a.heartbeat(Date.now())).toBe(1);
    expect(await b.heartbeat(Date.now())).toBe(2);
    await a.release(3);
    expect(await b.acquire(3)).toBe(true);
    await Promise.all([a.leave(), b.leave()]);
  }, 60_000);
});
