import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Bus } from '../../../shared/bus/index.js';
import { SCHEDULER_QUEUE, queueAddress } from '../../../shared/queue/index.js';
import { metricsText, registerScrapeSource } from '../../../shared/runtime/index.js';
import type { ApiContext } from '../context.js';
import { loadAssets } from './assets.js';
import { registerBullBoard } from './bullBoard.js';
import { OperatorData } from './data.js';
import type { CacheVersion } from '../cache.js';
import { RateSampler } from './rates.js';
import { deadLetterRoutes } from './deadLetterRoutes.js';
import type { RedriveConfig } from '../../../shared/app/redrive/index.js';
import { assetRoutes, dashboardRoutes, guardOperator, sessionRoutes } from './routes.js';

/** What the operator surfaces need besides the API's own context. */
export interface OperatorDeps {
  bus: Bus;
  /** For the scheduler's queue (bull-board, depths); no blocking commands run on it. */
  redis: Redis;
  lowBalanceMicros: bigint;
  /** How often the rate chart samples. @defaultValue 2000 */
  rateIntervalMs?: number;
  /** The pipeline's settled version, for the account list's cache (see Cached). */
  version?: () => Promise<CacheVersion>;
  /** The configuration a dead-letter re-drive validates and prices under. */
  redrive: RedriveConfig;
}

/**
 * The operator surfaces of SPEC 10 on the API's fastify instance: /metrics (open, for
 * Prometheus), /login and /logout, the dashboard at / with its JSON under
 * /v1/admin/dashboard/*, and bull-board at /admin/queues (both behind the admin token or
 * the session cookie).
 */
export function installOperatorSurfaces(app: FastifyInstance, ctx: ApiContext, deps: OperatorDeps): void {
  const scheduler = queueAddress(ctx.queues.namespace, SCHEDULER_QUEUE);
  const schedulerQueue = new Queue(scheduler.name, { connection: deps.redis, prefix: scheduler.prefix });
  schedulerQueue.on('error', (err) => ctx.logger.debug({ err }, 'scheduler queue error'));
  const queues = [...Array.from({ length: ctx.queues.shards }, (_, shard) => ctx.queues.forShard(shard)), schedulerQueue];
  const rates = new RateSampler(deps.bus, deps.rateIntervalMs).start();
  const data = new OperatorData({
    db: ctx.db,
    accounts: ctx.accounts,
    bus: deps.bus,
    queues,
    lowBalanceMicros: deps.lowBalanceMicros,
    rates,
    ...(deps.version ? { version: deps.version } : {}),
  });
  const unregister = registerScrapeSource(data.scrapeSource());
  app.addHook('onClose', async () => {
    rates.stop();
    unregister();
    await schedulerQueue.close();
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await metricsText();
    return reply.header('content-type', contentType).send(body);
  });
  assetRoutes(app, loadAssets());
  sessionRoutes(app, ctx);
  app.register(async (scope) => {
    guardOperator(scope, ctx);
    dashboardRoutes(scope, data, deps.bus);
    deadLetterRoutes(scope, ctx, deps.bus, deps.redrive);
    registerBullBoard(scope, queues);
  });
}

export { readinessChecks } from './health.js';
export type { ReadyChecks } from './health.js';
