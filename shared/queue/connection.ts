import { Redis, type RedisOptions } from 'ioredis';

/**
 * ioredis connection for BullMQ. `maxRetriesPerRequest: null` is what BullMQ workers
 * require (blocking commands must wait through reconnects instead of failing).
 */
export function redisConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra });
}
