import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { PipelineStats } from '../../shared/bus/index.js';
import type { Config } from '../../shared/config/index.js';
import type { ShardQueues } from '../../shared/queue/index.js';
import { BillingService } from './billing.js';
import type { ApiContext } from './context.js';
import { BODY_LIMIT_BYTES, installErrorHandling, installJsonBodies } from './http.js';
import { accountRoutes } from './routes/accounts.js';
import { adminRoutes } from './routes/admin.js';
import { opsRoutes } from './routes/ops.js';
import { webhookRoutes } from './routes/webhook.js';

export type ApiConfig = Pick<Config, 'plans' | 'kycRequired' | 'adminToken' | 'webhookSecret'>;

export interface ApiDeps {
  db: Db;
  queues: ShardQueues;
  logger: Logger;
  stats: () => Promise<PipelineStats>;
  ready: () => Promise<void>;
  /** @defaultValue Date.now */
  clock?: () => number;
  /** How long a write waits for its fold. @defaultValue 5000 */
  foldWaitMs?: number;
  /** How long the admin tick waits for the shard owners. @defaultValue 30000 */
  tickTimeoutMs?: number;
}

/** The HTTP API as a fastify instance, not listening yet (tests drive it with `inject`). */
export function buildApi(config: ApiConfig, deps: ApiDeps): FastifyInstance {
  const logger = deps.logger.child({ service: 'api' });
  // pino's Logger is a FastifyBaseLogger; typing it so keeps the instance the default FastifyInstance.
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, bodyLimit: BODY_LIMIT_BYTES, return503OnClosing: true });
  const clock = deps.clock ?? Date.now;
  const ctx: ApiContext = {
    billing: new BillingService(
      { plans: config.plans, kycRequired: config.kycRequired },
      { db: deps.db, queues: deps.queues, logger, clock, ...(deps.foldWaitMs !== undefined ? { foldWaitMs: deps.foldWaitMs } : {}) },
    ),
    db: deps.db,
    queues: deps.queues,
    credentials: { adminToken: config.adminToken, webhookSecret: config.webhookSecret },
    logger,
    clock,
    stats: deps.stats,
    ready: deps.ready,
    tickTimeoutMs: deps.tickTimeoutMs ?? 30_000,
  };
  installJsonBodies(app);
  installErrorHandling(app);
  opsRoutes(app, ctx);
  webhookRoutes(app, ctx);
  accountRoutes(app, ctx);
  adminRoutes(app, ctx);
  return app;
}
