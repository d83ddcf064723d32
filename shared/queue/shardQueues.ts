import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { duplicateRedis, releaseRedis } from './connection.js';
import type { ShardJob, ShardJobResult } from './jobs.js';
import { queueAddress } from './queueAddress.js';
import { shardOf, shardQueueName } from './shards.js';

/**
 * Producer handles on the shard queues, created on first use and sharing one Redis
 * connection (a Queue never blocks, so they need no connection of their own).
 */
export class ShardQueues {
  private readonly queues = new Map<number, Queue<ShardJob, ShardJobResult>>();
  private readonly listeners = new Map<number, { events: QueueEvents; connection: Redis }>();

  /** `namespace`: the deployment's (MONGO_DB), in every queue's Redis keys (shared/queue/queueAddress.ts). */
  constructor(
    private readonly redis: Redis,
    readonly namespace: string,
    readonly shards: number,
    private readonly logger?: Logger,
  ) {}

  forShard(shard: number): Queue<ShardJob, ShardJobResult> {
    let queue = this.queues.get(shard);
    if (!queue) {
      const { name, prefix } = queueAddress(this.namespace, shardQueueName(shard));
      queue = new Queue<ShardJob, ShardJobResult>(name, { connection: this.redis, prefix });
      // An 'error' event nobody listens to would throw and end the process. The shared
      // connection's owner reports Redis being away; here it would repeat once per queue.
      queue.on('error', (err) => this.logger?.debug({ err, shard }, 'shard queue error'));
      this.queues.set(shard, queue);
    }
    return queue;
  }

  /**
   * The shard queue's completion events (a blocking Redis connection of its own, opened on
   * first use), so a request waits for its job's outcome instead of polling for it.
   */
  events(shard: number): QueueEvents {
    let listener = this.listeners.get(shard);
    if (!listener) {
      const connection = duplicateRedis(this.redis, { maxRetriesPerRequest: null });
      // Redis away is reported by the shared connection's owner; unheard, it would print for every retry.
      connection.on('error', (err) => this.logger?.debug({ err, shard }, 'shard queue events connection error'));
      const { name, prefix } = queueAddress(this.namespace, shardQueueName(shard));
      const events = new QueueEvents(name, { connection, prefix });
      events.on('error', (err) => this.logger?.debug({ err, shard }, 'shard queue events error'));
      listener = { events, connection };
      this.listeners.set(shard, listener);
    }
    return listener.events;
  }

  shardOf(accountId: string): number {
    return shardOf(accountId, this.shards);
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await Promise.all(
      [...this.listeners.values()].map(async ({ events, connection }) => {
        await events.close();
        await releaseRedis(connection);
      }),
    );
    this.queues.clear();
    this.listeners.clear();
  }
}
