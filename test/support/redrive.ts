/** Re-drive runs in the test's process, as `tally dlq redrive` runs them (issue 20). */
import type { Config } from '../../shared/config/index.js';
import type { DeadLetterFilter } from '../../shared/bus/index.js';
import type { RedriveReport } from '../../shared/domain/index.js';
import { ShardQueues, redisConnection } from '../../shared/queue/index.js';
import { redrive } from '../../shared/app/redrive/index.js';
import { readAccount } from '../../shared/store/index.js';
import { shardOf } from '../../shared/queue/index.js';
import type { Endpoints } from '../../shared/runtime/index.js';
import type { Probe } from './pipeline.js';
import { testLogger } from './servers.js';

/** Runs one re-drive under `config` (its price book and horizon) with the probe's connections. */
export async function runRedrive(
  config: Config,
  endpoints: Endpoints,
  p: Probe,
  options: { filter?: DeadLetterFilter; dryRun?: boolean; clock?: () => number; chunkSize?: number } = {},
): Promise<RedriveReport> {
  const redis = redisConnection(endpoints.redisUrl);
  const queues = new ShardQueues(redis, config.mongoDb, config.shards);
  try {
    return await redrive(
      {
        priceBook: config.priceBook,
        ladder: config.ladder,
        lateArrivalDays: config.lateArrivalDays,
        jobTimeoutMs: 120_000,
        ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
      },
      {
        bus: p.bus,
        db: p.mongo.db,
        queues,
        logger: testLogger(),
        ...(options.clock ? { clock: options.clock } : {}),
        firstPaidAt: async (id) => (await readAccount(p.mongo.db, id, shardOf(id, config.shards)))?.first_paid_at?.getTime() ?? null,
      },
      { filter: options.filter ?? {}, dryRun: options.dryRun === true, by: 'test' },
    );
  } finally {
    await queues.close();
    redis.disconnect();
  }
}

/** The price book of SPEC 4 without `llm_token`: such records are dead-lettered `unpriced`. */
export const WITHOUT_LLM_PRICE = JSON.stringify({ vm_hour: { price_micros: 2_000_000, per: 720 }, hero_os_hour: { price_micros: 20_000, per: 1 } });
