import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { EventEmitter } from 'node:events';
import type { Worker } from 'bullmq';
import { parseRedisUrl, type RedisTarget } from '../config/index.js';

/**
 * ioredis options the product's clients need, for every topology: `maxRetriesPerRequest:
 * null` is what BullMQ workers require (blocking commands must wait through reconnects
 * and failovers instead of failing). `extra` (e.g. `maxRetriesPerRequest: 2` for request
 * paths, `sentinelPassword` from REDIS_SENTINEL_PASSWORD) wins.
 */
const CLIENT_OPTIONS: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true };

/** The options of a Sentinel-monitored primary or a Cluster's nodes: CLIENT_OPTIONS, the URL's credentials and TLS, then `extra`. */
export function redisOptionsFor(target: Exclude<RedisTarget, { kind: 'single' }>, extra: RedisOptions = {}): RedisOptions {
  const auth = {
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
  };
  const base: RedisOptions = { ...CLIENT_OPTIONS, ...auth, ...(target.tls ? { tls: {} } : {}) };
  if (target.kind === 'cluster') return { ...base, ...extra };
  return {
    ...base,
    sentinels: target.sentinels,
    name: target.masterName,
    db: target.db,
    ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
    ...extra,
  };
}

/** What `new Cluster` takes: the node options (BullMQ reads `redisOptions.maxRetriesPerRequest`) under `redisOptions`. */
export function clusterOptionsFor(target: Extract<RedisTarget, { kind: 'cluster' }>, extra: RedisOptions = {}): ClusterOptions {
  // lazyConnect is the Cluster's own option (it opens the node connections); passed on so `extra` means the same for every form.
  return { redisOptions: redisOptionsFor(target, extra), enableReadyCheck: true, ...(extra.lazyConnect ? { lazyConnect: true } : {}) };
}

/**
 * The one way the product opens Redis, for every REDIS_URL form (shared/config/engineUrls.ts):
 * one server, a Sentinel-monitored primary (ioredis asks the sentinels for the current
 * primary and follows failovers) or a Redis Cluster. Every key the product builds through
 * shared/redis/keys.ts (and queueAddress) keeps the keys of one script, transaction or
 * queue in one slot.
 *
 * The Cluster is returned typed as `Redis`: it has the same command, `multi`, `pipeline`
 * and `eval` methods and BullMQ takes either. Where they differ, use the helpers below
 * (`isCluster`, `duplicateRedis`) rather than the method: this file holds every cast
 * between the two types, and no other file needs one.
 */
export function redisConnection(url: string, extra: RedisOptions = {}): Redis {
  const target = parseRedisUrl(url);
  switch (target.kind) {
    case 'single':
      return new Redis(url, { ...CLIENT_OPTIONS, ...extra });
    case 'sentinel':
      return new Redis(redisOptionsFor(target, extra));
    case 'cluster':
      return new Cluster(target.nodes, clusterOptionsFor(target, extra)) as unknown as Redis;
  }
}

export function isCluster(redis: Redis): boolean {
  return (redis as unknown as { isCluster?: boolean }).isCluster === true;
}

/** A new connection to the same servers (`Redis.duplicate` and `Cluster.duplicate` take different arguments). */
export function duplicateRedis(redis: Redis, override: RedisOptions = {}): Redis {
  if (!isCluster(redis)) return redis.duplicate(override);
  const cluster = redis as unknown as Cluster;
  return cluster.duplicate(undefined, { redisOptions: { ...cluster.options.redisOptions, ...override } }) as unknown as Redis;
}

/** The configured options every connection takes (REDIS_SENTINEL_PASSWORD), for `redisConnection(url, { ...redisAuth(config) })`. */
export function redisAuth(config: { redisSentinelPassword?: string | undefined }): RedisOptions {
  return config.redisSentinelPassword !== undefined ? { sentinelPassword: config.redisSentinelPassword } : {};
}

/**
 * Closes a connection BullMQ was handed, once BullMQ has let go of it: QUIT first, so a
 * command still in flight gets its reply (a plain disconnect rejects it with "Connection
 * is closed", and BullMQ leaves some of those promises without a handler: an unhandled
 * rejection in the process), then the socket, after at most `waitMs` when Redis is gone.
 */
export async function releaseRedis(connection: Redis, waitMs = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    connection.quit().then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
  connection.disconnect();
}

/** BullMQ's own wrappers of a consumer's connections (protected fields of its Worker). */
interface ConsumerConnections {
  connection?: EventEmitter;
  blockingConnection?: EventEmitter;
}

/**
 * Closes a BullMQ consumer, then the connection it was handed. A BullMQ connection that
 * is still starting when it is closed rejects its start later, and emits that as 'error'
 * after close() removed every listener: an unhandled rejection, and the process exits
 * (a worker dropping a shard while Redis was slow or gone). So the consumer is closed once
 * it finished starting, or after `waitMs`; and a listener is put back on its connections
 * for whatever they still emit.
 */
export async function closeConsumer(consumer: Worker, connection: Redis, options: { force: boolean; waitMs: number }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    consumer.waitUntilReady().then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.waitMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
  try {
    await consumer.close(options.force);
  } finally {
    const wrappers = consumer as unknown as ConsumerConnections;
    for (const wrapper of [wrappers.connection, wrappers.blockingConnection]) wrapper?.on('error', () => {});
    await releaseRedis(connection);
  }
}
