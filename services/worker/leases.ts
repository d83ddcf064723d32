import type { Redis } from 'ioredis';
import { redisKey } from '../../shared/redis/index.js';

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** Redis keys of a deployment's leases and live workers, prefixed with its namespace (MONGO_DB) like every key it keeps. */
export const leaseKey = (namespace: string, shard: number): string => redisKey(namespace, 'lease', shard);
export const workersKey = (namespace: string): string => redisKey(namespace, 'workers');

/**
 * Shard leases in Redis: which worker process consumes which shard queue. A lease is a
 * liveness hint, not the safety mechanism: two owners at once (a paused process, Redis
 * emptied) are caught by the shard log's unique step key, never by the lease.
 */
export class Leases {
  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
    readonly ownerId: string,
    private readonly ttlMs: number,
  ) {}

  private key(shard: number): string {
    return leaseKey(this.namespace, shard);
  }

  async acquire(shard: number): Promise<boolean> {
    return (await this.redis.set(this.key(shard), this.ownerId, 'PX', this.ttlMs, 'NX')) === 'OK';
  }

  async renew(shard: number): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.key(shard), this.ownerId, String(this.ttlMs))) === 1;
  }

  async release(shard: number): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(shard), this.ownerId);
  }

  /** Announces this worker and returns how many are alive, for an even split of shards. */
  async heartbeat(now: number): Promise<number> {
    const cutoff = now - this.ttlMs;
    const [, , count] =
      (await this.redis
        .multi()
        .zadd(workersKey(this.namespace), now, this.ownerId)
        .zremrangebyscore(workersKey(this.namespace), 0, cutoff)
        .zcard(workersKey(this.namespace))
        .exec()) ?? [];
    return Math.max(1, Number(count?.[1] ?? 1));
  }

  async leave(): Promise<void> {
    await this.redis.zrem(workersKey(this.namespace), this.ownerId);
  }
}
