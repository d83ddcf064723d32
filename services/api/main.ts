import type { Logger } from 'pino';
import { readPipelineStats, readSettledVersion } from '../../shared/app/index.js';
import { connectBus, ensureStreams, streamOptions } from '../../shared/bus/index.js';
import type { Config } from '../../shared/config/index.js';
import { ShardQueues, redisAuth, redisConnection } from '../../shared/queue/index.js';
import { AccountReadModel, AccountReader } from '../../shared/readModel/index.js';
import { listenerUrl, type Endpoints } from '../../shared/runtime/index.js';
import { connectMongo, sumShardLog } from '../../shared/store/index.js';
import { buildApi } from './app.js';
import { Cached, SCAN_COST_FACTOR, timedRead } from './cache.js';
import type { RouteEntry } from './http.js';
import { readinessChecks } from './operator/index.js';

export interface RunningApi {
  /** Where it listens, e.g. http://127.0.0.1:8080. */
  url: string;
  /** The routes it serves (the HTTP fuzz test walks them). */
  routes: readonly RouteEntry[];
  stop(): Promise<void>;
}

/** Composition root of an API process: connections, the fastify app, the listener on HTTP_PORT. */
export async function startApi(config: Config, endpoints: Endpoints, logger: Logger): Promise<RunningApi> {
  const log = logger.child({ service: 'api' });
  if (!config.adminToken) log.warn('ADMIN_TOKEN is not set: admin and account routes answer 401');
  if (!config.webhookSecret) log.warn('WEBHOOK_SECRET is not set: the payment webhook answers 401');
  const mongo = await connectMongo(endpoints.mongoUrl, config.mongoDb);
  // Requests fail (503) after two reconnect attempts instead of hanging while Redis is away;
  // only this process's queue producers use the connection (no blocking commands).
  const redis = redisConnection(endpoints.redisUrl, { ...redisAuth(config), maxRetriesPerRequest: 2 });
  redis.on('error', (err) => log.warn({ err }, 'redis connection error'));
  const bus = await connectBus(endpoints.natsUrl, 'tally-api', endpoints.natsSecurity);
  await ensureStreams(bus.jsm, streamOptions(config));
  const queues = new ShardQueues(redis, config.mongoDb, config.shards, log);
  const accounts = new AccountReader(new AccountReadModel(redis, config.mongoDb, config.shards), mongo.db, config.shards, (id) => queues.shardOf(id));
  const lag = () => accounts.status();
  // The log's sum (only while Redis lacks a shard's model) scans every entry: at most once
  // per SCAN_COST_FACTOR x its own duration; the rest of the stats stays fresh.
  const logTotals = new Cached({ ttlMs: config.statsCacheMs, costFactor: SCAN_COST_FACTOR }, () => timedRead('stats_log_sum', () => sumShardLog(mongo.db)));
  const app = buildApi(config, {
    db: mongo.db,
    queues,
    accounts,
    redis,
    bus,
    logger,
    stats: () => readPipelineStats(bus.jsm, () => logTotals.get(), lag),
    ready: () => readinessChecks({ db: mongo.db, redis, bus }),
    operator: {
      bus,
      redis,
      lowBalanceMicros: config.lowBalanceMicros,
      version: () => readSettledVersion(bus.jsm, lag),
      redrive: { priceBook: config.priceBook, ladder: config.ladder, lateArrivalDays: config.lateArrivalDays },
    },
  });
  const host = config.httpHost;
  await app.listen({ port: config.httpPort, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.httpPort;
  const url = listenerUrl(host, port);
  log.info({ url }, 'api listening');
  return {
    url,
    routes: app.routeTable,
    stop: async () => {
      await app.close();
      await queues.close();
      redis.disconnect();
      await bus.close();
      await mongo.close();
    },
  };
}
