import type { Db } from 'mongodb';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { PipelineStats } from '../../../shared/app/index.js';
import { loadConfig } from '../../../shared/config/index.js';
import type { ShardQueues } from '../../../shared/queue/index.js';
import { buildApi } from '../../../services/api/index.js';

/**
 * Issue 16 item 7: GET /v1/stats needs no sign-in, and each read scans the shard log.
 * Twenty `curl` loops on it stalled the store the hot path writes to; now any number of
 * requests cost at most one read per STATS_CACHE_MS.
 */
describe('GET /v1/stats is cached', () => {
  let reads = 0;
  let fail = false;
  const counts: PipelineStats = { received: 3, charged: 2, duplicates: 0, dead: 1, pending: 0, unprojected: 0 };
  const app = buildApi(
    { ...loadConfig({}), statsCacheMs: 1500, rateLimitPauseMs: 0 },
    {
      db: {} as Db,
      queues: {} as ShardQueues,
      logger: pino({ level: 'silent' }),
      stats: async () => {
        reads++;
        await new Promise((r) => setTimeout(r, 20));
        if (fail) throw new Error('store away');
        return { ...counts, received: counts.received + reads };
      },
      ready: async () => undefined,
    },
  );
  afterAll(() => app.close());
  const get = () => app.inject({ method: 'GET', url: '/v1/stats' });

  it('200 concurrent requests within the interval cause exactly one read, and all see its answer', async () => {
    const answers = await Promise.all(Array.from({ length: 200 }, get));
    expect(reads).toBe(1);
    expect(new Set(answers.map((a) => `${a.statusCode} ${a.body}`))).toEqual(new Set([`200 ${JSON.stringify({ ...counts, received: 4 })}`]));
    expect((await get()).json()).toMatchObject({ received: 4 });
    expect(reads).toBe(1);
  });

  it('reads again once the interval has passed; a failed read is not kept', async () => {
    await new Promise((r) => setTimeout(r, 1550));
    fail = true;
    const failed = await Promise.all(Array.from({ length: 50 }, get));
    expect(new Set(failed.map((a) => a.statusCode))).toEqual(new Set([500]));
    expect(reads).toBe(2);
    fail = false;
    expect((await get()).json()).toMatchObject({ received: 6 });
    expect(reads).toBe(3);
  });
});
