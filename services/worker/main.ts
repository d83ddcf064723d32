import type { Logger } from 'pino';
import type { Config } from '../../shared/config/index.js';
import { connectBus, ensureStreams } from '../../shared/bus/index.js';
import { redisConnection } from '../../shared/queue/index.js';
import { connectMongo, ensureIndexes } from '../../shared/store/index.js';
import type { Endpoints } from '../../shared/runtime/index.js';
import { ShardWorkerService } from './worker.js';

export interface RunningService {
  stop(): Promise<void>;
}

/** Composition root of a worker process: connections, then the shard worker. */
export async function startWorker(config: Config, endpoints: Endpoints, logger: Logger, clock?: () => number): Promise<RunningService & { service: ShardWorkerService }> {
  const log = logger.child({ service: 'worker' });
  const mongo = await connectMongo(endpoints.mongoUrl, config.mongoDb);
  await ensureIndexes(mongo.db);
  const bus = await connectBus(endpoints.natsUrl, 'tally-worker');
  await ensureStreams(bus.jsm);
  const redis = redisConnection(endpoints.redisUrl);
  const service = new ShardWorkerService(
    { shards: config.shards, dedupHorizonMs: config.dedupHorizonHours * 3_600_000, pricing: { priceBook: config.priceBook, ladder: config.ladder, lowBalanceMicros: config.lowBalanceMicros } },
    { db: mongo.db, bus, redis, redisUrl: endpoints.redisUrl, logger: log, ...(clock ? { clock } : {}) },
  );
  await service.start();
  log.info({ id: service.id, shards: service.shardsHeld().length }, 'worker started');
  return {
    service,
    stop: async () => {
      await service.stop();
      await bus.close();
      redis.disconnect();
      await mongo.close();
    },
  };
}
