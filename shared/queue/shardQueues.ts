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
  private readonly listeners = new Map<number, Promise<{ events: QueueEvents; connection: Redis }>>();

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
   * The shard queue's completion events, for `job.waitUntilFinished` (a blocking Redis
   * connection of its own, opened on first use). Get it before adding the job it waits for:
   * a new listener reads the events stream from the last entry that was there when it was
   * asked for, not from wherever the stream is when its first blocking read reaches Redis
   * (BullMQ's `$`), so a job that finishes while the listener connects is still heard (a
   * webhook on a shard's first fold waited out its 5 s fold wait, then was answered by the
   * fallback read). One round trip the first time per shard.
   */
  events(shard: number): Promise<QueueEvents> {
    let listener = this.listeners.get(shard);
    if (!listener) {
      const { name, prefix } = queueAddress(this.namespace, shardQueueName(shard));
      // The stream's key as BullMQ names it (the queue's `keys.events`).
      const opened = this.redis.xrevrange(this.forShard(shard).keys['events']!, '+', '-', 'COUNT', 1).then((last) => {
        const connection = duplicateRedis(this.redis, { maxRetriesPerRequest: null });
        // Redis away is reported by the shared connection's owner; unheard, it would print for every retry.
        connection.on('error', (err) => this.logger?.debug({ err, shard }, 'shard queue events connection error'));
        const events = new QueueEvents(name, { connection, prefix, lastEventId: last[0]?.[0] ?? '0-0' });
        events.on('error', (err) => this.logger?.debug({ err, shard }, 'shard queue events error'));
        return { events, connection };
      });
      listener = opened;
      this.listeners.set(shard, opened);
      // Not opened (Redis away): the next call asks again.
      opened.catch(() => this.listeners.delete(shard));
    }
    return listener.then((l) => l.events);
  }

  shardOf(accountId: string): number {
    return shardOf(accountId, this.shards);
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await Promise.all(
      [...this.listeners.values()].map(async (opening) => {
        const opened = await opening.catch(() => null);
        if (!opened) return;
        const { events, connection } = opened;
        await events.close();
        await releaseRedis(connection);
      }),
    );
    this.queues.clear();
    this.listeners.clear();
  }
}
