import type { Db } from 'mongodb';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config/index.js';
import type { ShardQueues } from '../../../shared/queue/index.js';
import { buildApi } from '../../../services/api/index.js';
import { MAX_HELD_REFUSALS } from '../../../services/api/rateLimit.js';

/**
 * Issue 16 item 7: a client looping on a route as fast as it is answered (twenty `curl`
 * loops) must not take the cores the pipeline needs. Past the address limit a refusal is
 * held for RATE_LIMIT_PAUSE_MS before its 429 goes out, so each loop sends about one
 * request per pause; at most MAX_HELD_REFUSALS are held at once, the rest answered at once.
 */
describe('refusals past the address limit are paused', () => {
  const PAUSE_MS = 3000;
  const app = buildApi(
    { ...loadConfig({}), statsCacheMs: 60_000, rateLimitIpPerMinute: 2, rateLimitPauseMs: PAUSE_MS },
    {
      db: {} as Db,
      queues: {} as ShardQueues,
      logger: pino({ level: 'silent' }),
      stats: async () => ({ received: 1, charged: 1, duplicates: 0, dead: 0, pending: 0, unprojected: 0 }),
      ready: async () => undefined,
    },
  );
  afterAll(() => app.close());
  const get = () => app.inject({ method: 'GET', url: '/v1/stats' });

  it('GET /v1/stats counts against the address limit; the refusal is 429 rate_limited, sent no sooner than the pause', async () => {
    expect((await get()).statusCode).toBe(200);
    expect((await get()).statusCode).toBe(200);
    const started = performance.now();
    const refused = await get();
    const waited = performance.now() - started;
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // A timer never fires before its time (1 ms for Node's rounding of the start).
    expect(waited).toBeGreaterThanOrEqual(PAUSE_MS - 1);
  });

  it(`holds at most ${MAX_HELD_REFUSALS} refusals at once: the next one is answered while they still wait`, async () => {
    const order: string[] = [];
    const held = Array.from({ length: MAX_HELD_REFUSALS }, () => get().then((r) => order.push(`held ${r.statusCode}`)));
    // Half the pause later every held request has passed its limiter check (the injects
    // run concurrently, ~0.1 ms each); the one past the cap is refused without waiting, so
    // it lands before any held answer.
    await new Promise((r) => setTimeout(r, PAUSE_MS / 2));
    const extra = await get();
    order.push(`extra ${extra.statusCode}`);
    await Promise.all(held);
    expect(order[0]).toBe('extra 429');
    expect(order.slice(1)).toEqual(Array.from({ length: MAX_HELD_REFUSALS }, () => 'held 429'));
  });
});
