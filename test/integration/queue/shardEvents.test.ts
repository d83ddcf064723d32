import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ShardQueues, queueAddress, shardQueueName } from '../../../shared/queue/index.js';

/**
 * Regression (issue 29's bench, webhooks phase): a shard's completion listener is opened on
 * first use, and BullMQ's QueueEvents reads from `$`, i.e. from wherever the stream is when
 * its first blocking read reaches Redis. BullMQ's waitUntilFinished checks the job once the
 * listener's connection is ready, but that read is sent a round trip later (after CLIENT
 * SETNAME): a fold job that finished in between was never heard, and the webhook waited out
 * its 5 s fold wait (2 of 5 bench runs). Here Redis is reached through a proxy that holds
 * each connection's first XREAD for 600 ms, so the job (100 ms) always finishes first.
 */
describe('ShardQueues.events', () => {
  const servers = inject('servers');
  const namespace = `events${process.pid}`;
  let proxy: Server;
  let redis: Redis;
  let direct: Redis;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    const target = new URL(servers.redisUrl);
    proxy = createServer((client) => {
      const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
      sockets.push(client, upstream);
      // Client to Redis in order; a connection's first XREAD (the listener's first blocking
      // read, sent after its connection is ready) is held for 600 ms.
      let chain = Promise.resolve();
      let held = false;
      client.on('data', (chunk: Buffer) => {
        const hold = !held && /xread/i.test(chunk.toString('latin1'));
        held ||= hold;
        chain = chain.then(() => (hold ? new Promise((r) => setTimeout(r, 600)) : undefined)).then(() => void upstream.write(chunk));
      });
      upstream.pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const viaProxy = new URL(servers.redisUrl);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String((proxy.address() as AddressInfo).port);
    redis = new Redis(viaProxy.toString(), { maxRetriesPerRequest: null });
    direct = new Redis(servers.redisUrl, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    redis.disconnect();
    direct.disconnect();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => proxy.close(resolve));
  });

  it('hears a job that finished before its listener first read the events stream', async () => {
    const shard = 3;
    const { name, prefix } = queueAddress(namespace, shardQueueName(shard));
    const consumer = new Worker(name, async () => new Promise((r) => setTimeout(() => r({ done: true }), 100)), { connection: direct.duplicate(), prefix });
    const queues = new ShardQueues(redis, namespace, 8);
    try {
      await consumer.waitUntilReady();
      // As the API does: the listener first, then the job.
      const events = await queues.events(shard);
      const job = await queues.forShard(shard).add('probe', { type: 'probe' } as never, { jobId: 'first-fold' });
      expect(await job.waitUntilFinished(events, 4000)).toEqual({ done: true });
    } finally {
      await queues.close();
      await consumer.close();
    }
  });
});
