import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRedisUrl } from '../../../shared/config/index.js';
import {
  clusterOptionsFor,
  duplicateRedis,
  isCluster,
  queueAddress,
  redisAuth,
  redisConnection,
  redisOptionsFor,
  shardQueueName,
} from '../../../shared/queue/index.js';
import { redisGroup, redisKey } from '../../../shared/redis/index.js';

const opened: Redis[] = [];
const open = (url: string, extra = {}): Redis => {
  const redis = redisConnection(url, { lazyConnect: true, ...extra });
  opened.push(redis);
  return redis;
};
afterEach(() => {
  for (const r of opened.splice(0)) r.disconnect();
});

describe('redisConnection', () => {
  it('builds a Sentinel client that asks the sentinels for the master and waits through failovers (BullMQ)', () => {
    const redis = open('redis+sentinel://app:pw@h1:26379,h2:26379/mymaster/2', redisAuth({ redisSentinelPassword: 'spw' }));
    expect(isCluster(redis)).toBe(false);
    expect(redis.options).toMatchObject({
      sentinels: [
        { host: 'h1', port: 26379 },
        { host: 'h2', port: 26379 },
      ],
      name: 'mymaster',
      db: 2,
      username: 'app',
      password: 'pw',
      sentinelPassword: 'spw',
      maxRetriesPerRequest: null,
    });
  });

  it('builds a Cluster whose node connections keep maxRetriesPerRequest null, and extra options reach the nodes', () => {
    const redis = open('redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001', { maxRetriesPerRequest: 2 });
    expect(isCluster(redis)).toBe(true);
    expect(redis).toBeInstanceOf(Cluster);
    const cluster = redis as unknown as Cluster;
    expect(cluster.options.redisOptions).toMatchObject({ password: 'pw', maxRetriesPerRequest: 2 });
    const target = parseRedisUrl('redis+cluster://h1:7000');
    if (target.kind !== 'cluster') throw new Error('expected the cluster form');
    expect(clusterOptionsFor(target).redisOptions?.maxRetriesPerRequest).toBeNull();
    const copy = duplicateRedis(redis, { maxRetriesPerRequest: null, lazyConnect: true });
    opened.push(copy);
    expect(isCluster(copy)).toBe(true);
    expect((copy as unknown as Cluster).options.redisOptions).toMatchObject({ password: 'pw', maxRetriesPerRequest: null });
  });

  it('asks for TLS on the rediss+ forms, sentinels included', () => {
    const target = parseRedisUrl('rediss+sentinel://h1:26379/m');
    if (target.kind !== 'sentinel') throw new Error('expected the sentinel form');
    expect(redisOptionsFor(target)).toMatchObject({ tls: {}, enableTLSForSentinelMode: true, sentinelTLS: {} });
  });

  it('opens one server from its URL as before', () => {
    const redis = open('redis://127.0.0.1:6390/1');
    expect(redis.options).toMatchObject({ port: 6390, db: 1, maxRetriesPerRequest: null });
    expect(duplicateRedis(redis, { lazyConnect: true }).options.port).toBe(6390);
  });
});

/** Redis Cluster's HASH_SLOT: CRC16 (XMODEM) of the hash tag, or of the whole key without one, mod 16384. */
function slot(key: string): number {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

describe('Redis keys on a cluster', () => {
  it('computes slots as Redis does', () => {
    expect(slot('123456789')).toBe(0x31c3 % 16384);
    expect(slot('{user1000}.following')).toBe(slot('{user1000}.followers'));
  });

  const bullKeys = (namespace: string, queue: string): string[] => {
    const { name, prefix } = queueAddress(namespace, queue);
    return ['wait', 'active', 'meta', 'events', 'stalled', 'id', 'marker', '42', '42:lock'].map((suffix) => `${prefix}:${name}:${suffix}`);
  };

  it("keeps every key of one shard queue in one slot, and spreads the shards' queues over many", () => {
    const slots = new Set<number>();
    for (let shard = 0; shard < 16; shard++) {
      const keys = new Set(bullKeys('tally', shardQueueName(shard)).map(slot));
      expect(keys.size).toBe(1);
      slots.add([...keys][0]!);
    }
    expect(slots.size).toBe(16);
  });

  it('keeps the namespace in every key, so deployments sharing a Redis stay apart', () => {
    expect(queueAddress('prod', 'tally-shard-3')).toEqual({ name: 'tally-shard-3', prefix: 'tally:{prod:tally-shard-3}' });
    expect(redisKey('prod', 'lease', 3)).toBe('tally:prod:lease:3');
    expect(redisGroup('prod', 3)).toBe('tally:{prod:3}');
    expect(slot(`${redisGroup('prod', 3)}:accounts`)).toBe(slot(`${redisGroup('prod', 3)}:meta`));
    expect(slot(`${redisGroup('prod', 3)}:accounts`)).not.toBe(slot(`${redisGroup('test', 3)}:accounts`));
  });
});
