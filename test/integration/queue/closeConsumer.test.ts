import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeConsumer } from '../../../shared/queue/index.js';

/**
 * Regression (issue 27's cluster run and issue 28's chaos run, under load): a shard's
 * consumer closed by force while its BullMQ connections were still connecting made BullMQ's
 * RedisConnection emit 'error' after close() had removed every listener — an unhandled
 * rejection, and the worker process exited 1.
 */
describe('closeConsumer', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    unhandled.length = 0;
  });

  it('closes a consumer that is still connecting, by force, without an unhandled rejection', async () => {
    process.on('unhandledRejection', onUnhandled);
    // A server that accepts connections and never answers: BullMQ's start stays pending, as it
    // does against a Redis that is paused or far too busy.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const base = new Redis({ port: (silent.address() as AddressInfo).port, host: '127.0.0.1', lazyConnect: true });
    for (let i = 0; i < 3; i++) {
      const connection = base.duplicate({ maxRetriesPerRequest: null }) as Redis;
      connection.on('error', () => {});
      const consumer = new Worker(`close-consumer-${process.pid}-${i}`, async () => undefined, { connection, prefix: 'tally-test', autorun: true });
      consumer.on('error', () => {});
      await closeConsumer(consumer, connection, { force: true, waitMs: 200 });
    }
    await new Promise((r) => setTimeout(r, 300));
    base.disconnect();
    silent.close();
    expect(unhandled.map((e) => String(e))).toEqual([]);
  });
});
