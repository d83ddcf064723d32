import type { JetStreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { readPipelineStats } from '../../../shared/app/index.js';

/** The JetStream answers stats reads, as plain data. */
const jsm = (pending: number, ackPending: number) =>
  ({
    consumers: { info: async () => ({ num_pending: pending, num_ack_pending: ackPending }) },
    streams: { info: async (name: string) => ({ state: { messages: name === 'USAGE' ? 120 : 3 } }) },
  }) as unknown as JetStreamManager;

/** A log that must not be summed: reading it fails the test. */
const untouchable = async (): Promise<never> => {
  throw new Error('the store was read');
};

describe('readPipelineStats', () => {
  it('reads no store while every read model is loaded: the totals come from the models', async () => {
    const stats = await readPipelineStats(jsm(0, 0), untouchable, async () => ({ unknownShards: 0, version: '4,7', totals: { charged: 110, duplicates: 7 } }));
    expect(stats).toEqual({ received: 120, charged: 110, duplicates: 7, dead: 3, pending: 0, unprojected: 0 });
  });

  it('counts un-acked messages and shards whose model is not loaded as pending, and then sums the log', async () => {
    await expect(readPipelineStats(jsm(5, 2), untouchable, async () => ({ unknownShards: 1, version: '4,', totals: null }))).rejects.toThrow(
      'the store was read',
    );
  });
});
