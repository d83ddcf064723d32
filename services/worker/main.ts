import type { Logger } from 'pino';
import type { Config } from '../../shared/config/index.js';
import { connectBus, ensureStreams, streamOptions } from '../../shared/bus/index.js';
import { redisAuth, redisConnection } from '../../shared/queue/index.js';
import type { MongoClientOptions } from 'mongodb';
import { assertStoreFormat, connectMongo, ensureIndexes, type MongoConnection } from '../../shared/store/index.js';
import { failpointTrips, type Endpoints } from '../../shared/runtime/index.js';
import { ShardWorkerService } from './worker.js';

export interface RunningService {
  stop(): Promise<void>;
}

export interface WorkerOptions {
  /** Injected clock (tests). @defaultValue Date.now */
  clock?: () => number;
  /** Extra driver options, e.g. `monitorCommands` for a test that inspects every command. */
  mongoOptions?: MongoClientOptions;
}

/** Composition root of a worker process: connections, then the shard worker. */
export async function startWorker(
  config: Config,
  endpoints: Endpoints,
  logger: Logger,
  options: WorkerOptions = {},
): Promise<RunningService & { service: ShardWorkerService; mongo: MongoConnection }> {
  const { clock } = options;
  const log = logger.child({ service: 'worker' });
  const mongo = await connectMongo(endpoints.mongoUrl, config.mongoDb, log, options.mongoOptions);
  // Before any shard is taken: a store of an earlier 0.x format is refused whole, not misread.
  await assertStoreFormat(mongo.db).catch(async (err: unknown) => {
    await mongo.close();
    throw err;
  });
  await ensureIndexes(mongo.db);
  const bus = await connectBus(endpoints.natsUrl, 'tally-worker', endpoints.natsSecurity);
  await ensureStreams(bus.jsm, streamOptions(config));
  const redis = redisConnection(endpoints.redisUrl, redisAuth(config));
  // Redis going away is a case the worker handles (leases lost, shards reloaded): log it, no crash.
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  const service = new ShardWorkerService(
    {
      shards: config.shards,
      namespace: config.mongoDb,
      flushIntervalMs: config.projectionFlushMs,
      leaseTtlMs: config.workerLeaseTtlMs,
      idleFenceMs: config.workerIdleFenceMs,
      closeWaitMs: config.workerCloseWaitMs,
      checkpointEveryMs: config.checkpointIntervalMs,
      compactEveryMs: config.logCompactIntervalMs,
      horizonSnapshotMs: config.horizonSnapshotMs,
      dedupHorizonMs: config.dedupHorizonHours * 3_600_000,
      pricing: {
        priceBook: config.priceBook,
        ladder: config.ladder,
        lowBalanceMicros: config.lowBalanceMicros,
        lateArrivalDays: config.lateArrivalDays,
        skipDedup: () => failpointTrips('worker.skip-dedup'),
      },
    },
    { db: mongo.db, bus, redis, logger: log, ...(clock ? { clock } : {}) },
  );
  await service.start();
  log.info({ id: service.id, shards: service.shardsHeld().length }, 'worker started');
  return {
    service,
    mongo,
    stop: async () => {
      await service.stop();
      await bus.close();
      redis.disconnect();
      await mongo.close();
    },
  };
}
