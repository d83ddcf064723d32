import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Endpoints } from '../../../shared/runtime/index.js';
import { probe, startPipeline, testConfig } from '../../support/pipeline.js';
import { startRedisCluster, startRedisSentinelSet, type RedisClusterSet, type RedisSentinelSet } from '../../support/redisEngines.js';
import { expectServedExactly, makeStream, publishAll } from '../../support/stream.js';

/**
 * The product's own bridge and worker (as `tally up` runs them) with REDIS_URL in its cluster
 * forms; NATS and the store are the run's shared servers. Every balance must equal the domain
 * core's quote, and the log must hold each record once.
 */
describe('the pipeline on Redis Sentinel and Redis Cluster', () => {
  let sentinel: RedisSentinelSet;
  let cluster: RedisClusterSet;
  beforeAll(async () => {
    [sentinel, cluster] = await Promise.all([startRedisSentinelSet(), startRedisCluster(3)]);
  });
  afterAll(async () => {
    await Promise.all([sentinel?.close(), cluster?.close()]);
  });

  it('redis+sentinel://: records keep flowing through kill -9 of the primary, each charged once', async () => {
    const endpoints: Endpoints = { ...inject('servers'), redisUrl: sentinel.url };
    const config = testConfig(endpoints, { SHARDS: '8', REDIS_SENTINEL_PASSWORD: sentinel.sentinelPassword });
    const p = await probe(config, endpoints);
    const pipeline = await startPipeline(config, endpoints);
    try {
      const first = makeStream(1500, 30, 'sa');
      const second = makeStream(1500, 30, 'sb');
      await publishAll(p.bus.js, first);
      const started = Date.now();
      const former = await sentinel.killPrimary();
      await publishAll(p.bus.js, second);
      const promoted = await sentinel.waitForFailover(former);
      await p.drained(60_000);
      console.log(
        `pipeline on sentinel: primary ${former} killed mid-stream, ${promoted} promoted; 3000 records drained ${Date.now() - started} ms after the kill`,
      );
      await expectServedExactly(config, endpoints, p.mongo.db, [...first, ...second]);
    } finally {
      await pipeline.stop();
      await p.close();
    }
  }, 90_000);

  it('redis+cluster://: 16 shards over 3 nodes, each record charged once', async () => {
    const endpoints: Endpoints = { ...inject('servers'), redisUrl: cluster.url };
    const config = testConfig(endpoints, { SHARDS: '16' });
    const p = await probe(config, endpoints);
    const pipeline = await startPipeline(config, endpoints);
    try {
      const lines = makeStream(3000, 60, 'c');
      const started = Date.now();
      await publishAll(p.bus.js, lines);
      await p.drained(60_000);
      console.log(`pipeline on redis cluster: 3000 records over 16 shards drained in ${Date.now() - started} ms`);
      expect(pipeline.worker.service.shardsHeld()).toHaveLength(16);
      await expectServedExactly(config, endpoints, p.mongo.db, lines);
    } finally {
      await pipeline.stop();
      await p.close();
    }
  }, 90_000);
});
