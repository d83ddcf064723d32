import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Db } from 'mongodb';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PipelineStats } from '../../shared/app/index.js';
import type { Config } from '../../shared/config/index.js';
import { FoldSigner, type ShardQueues } from '../../shared/queue/index.js';
import { AccountReader } from '../../shared/readModel/index.js';
import { BillingService } from './billing.js';
import { Cached, timedRead } from './cache.js';
import type { ApiContext } from './context.js';
import { BODY_LIMIT_BYTES, collectRoutes, installErrorHandling, installJsonBodies, sendFailure } from './http.js';
import { accountPage, memorySessions, redisSessions } from './account/index.js';
import { KeyRing } from './keys/index.js';
import { LedgerPages } from './ledger.js';
import { installOriginCheck } from './origin.js';
import { installRateLimits } from './rateLimit.js';
import { accountRoutes } from './routes/accounts.js';
import { adjustmentRoutes } from './routes/adjustments.js';
import { adminRoutes } from './routes/admin.js';
import { keyRoutes } from './routes/keys.js';
import { opsRoutes } from './routes/ops.js';
import { installOperatorSurfaces, type OperatorDeps, type ReadyChecks } from './operator/index.js';
import { webhookRoutes } from './routes/webhook.js';
import { HOUR_MS } from '../../shared/domain/index.js';
import { ingestRoutes } from './routes/ingest.js';
import type { Bus } from '../../shared/bus/index.js';

export type ApiConfig = Pick<
  Config,
  | 'plans'
  | 'ladder'
  | 'lateArrivalDays'
  | 'mongoDb'
  | 'kycRequired'
  | 'adminToken'
  | 'webhookSecret'
  | 'statsCacheMs'
  | 'ledgerCacheMs'
  | 'ladderTickTimeoutMs'
  | 'rateLimitKeyPerMinute'
  | 'rateLimitIpPerMinute'
  | 'rateLimitIngestPerMinute'
  | 'ingestPublishTimeoutMs'
  | 'priceBook'
  | 'lateArrivalDays'
  | 'rateLimitAuthFailuresPerMinute'
  | 'rateLimitPauseMs'
  | 'accountSessionHours'
  | 'operatorSessionHours'
  | 'trustProxy'
>;

export interface ApiDeps {
  db: Db;
  queues: ShardQueues;
  logger: Logger;
  /** The pipeline's counts, read afresh; GET /v1/stats serves them through a cache (STATS_CACHE_MS). */
  stats: () => Promise<PipelineStats>;
  /** Resolves (with each check's outcome, when known) if the servers answer; rejects otherwise (NotReadyError lists why). */
  ready: () => Promise<ReadyChecks | void>;
  /** @defaultValue Date.now */
  clock?: () => number;
  /** How long a write waits for its fold. @defaultValue 5000 */
  foldWaitMs?: number;
  /**
   * Shared state of the API replicas: key revocations, account page sessions, rate-limit
   * counters. Without it (tests driving the app with inject) each lives in this process.
   */
  redis?: Redis;
  /** Where `POST /v1/usage` publishes; without it (tests with no NATS) the route is not served. */
  bus?: Bus;
  /** Account reads; without it (tests with no Redis) the store's projections are read. */
  accounts?: AccountReader;
  /** Dashboard, bull-board, /metrics and sign-in (services/api/operator); left out by tests that need no servers. */
  operator?: OperatorDeps;
}

/**
 * The access log: one line per request when it is answered (method, URL, client address,
 * status, time), not fastify's two ("incoming request", then "request completed"): at
 * hundreds of requests a second the first line is a second synchronous write and a second
 * redaction pass for nothing a reader needs. Fastify's error lines are unchanged.
 */
class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/** TRUST_PROXY for fastify: addresses and CIDRs as they are; a hop count as the function fastify makes of one (its types take no number). */
function trustedProxies(trust: number | string[]): string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust;
}

/** The HTTP API as a fastify instance, not listening yet (tests drive it with `inject`). */
export function buildApi(config: ApiConfig, deps: ApiDeps): FastifyInstance {
  const logger = deps.logger.child({ service: 'api' });
  // pino's Logger is a FastifyBaseLogger; typing it so keeps the instance the default FastifyInstance.
  // request.ip (every limit, the sign-in budget) and the origin a browser sees come from
  // X-Forwarded-* only when the peer is a trusted proxy (TRUST_PROXY); unset, from the socket.
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    return503OnClosing: true,
    logController: new AccessLog(),
    frameworkErrors: sendFailure,
    ...(config.trustProxy !== undefined ? { trustProxy: trustedProxies(config.trustProxy) } : {}),
  });
  const clock = deps.clock ?? Date.now;
  // Redis keys of this deployment are prefixed with its database name: deployments (and test
  // runs) sharing one Redis never see each other's revocations, sessions or counters.
  const namespace = config.mongoDb;
  const sessionTtlMs = config.accountSessionHours * HOUR_MS;
  const accounts = deps.accounts ?? new AccountReader(null, deps.db, deps.queues.shards, (id) => deps.queues.shardOf(id));
  // Open to anyone: whatever the request rate, one read per STATS_CACHE_MS (the reads that
  // scan the shard log have their own bound, in deps.stats).
  const stats = new Cached({ ttlMs: config.statsCacheMs }, () => timedRead('stats', deps.stats));
  const billing = new BillingService(
    { plans: config.plans, kycRequired: config.kycRequired },
    {
      db: deps.db,
      queues: deps.queues,
      accounts,
      logger,
      clock,
      onWrite: (accountId) => ledger.forget(accountId),
      ...(deps.bus && deps.redis ? { folds: { nc: deps.bus.nc, signer: new FoldSigner(deps.redis, namespace) } } : {}),
      ...(deps.foldWaitMs !== undefined ? { foldWaitMs: deps.foldWaitMs } : {}),
    },
  );
  const ledger = new LedgerPages({ db: deps.db, billing }, config.ledgerCacheMs);
  const ctx: ApiContext = {
    billing,
    ledger,
    accounts,
    db: deps.db,
    queues: deps.queues,
    credentials: { adminToken: config.adminToken, webhookSecret: config.webhookSecret },
    logger,
    clock,
    stats: () => stats.get(),
    ready: deps.ready,
    tickTimeoutMs: config.ladderTickTimeoutMs,
    operatorSessionMs: config.operatorSessionHours * HOUR_MS,
    keys: new KeyRing({ db: deps.db, redis: deps.redis, namespace, logger, clock }),
    limits: installRateLimits(app, {
      ipPerMinute: config.rateLimitIpPerMinute,
      keyPerMinute: config.rateLimitKeyPerMinute,
      ingestPerMinute: config.rateLimitIngestPerMinute,
      authFailuresPerMinute: config.rateLimitAuthFailuresPerMinute,
      pauseMs: config.rateLimitPauseMs,
      redis: deps.redis,
      namespace,
    }),
    sessions: deps.redis ? redisSessions(deps.redis, namespace, sessionTtlMs) : memorySessions(sessionTtlMs, clock),
    plans: config.plans,
    ladder: config.ladder,
    lateArrivalDays: config.lateArrivalDays,
  };
  collectRoutes(app);
  installJsonBodies(app);
  installErrorHandling(app);
  installOriginCheck(app);
  opsRoutes(app, ctx);
  webhookRoutes(app, ctx);
  accountRoutes(app, ctx);
  adminRoutes(app, ctx);
  adjustmentRoutes(app, ctx);
  if (deps.bus)
    ingestRoutes(app, ctx, deps.bus.nc, {
      priceBook: config.priceBook,
      lateArrivalDays: config.lateArrivalDays,
      publishTimeoutMs: config.ingestPublishTimeoutMs,
    });
  if (deps.operator) installOperatorSurfaces(app, ctx, deps.operator);
  keyRoutes(app, ctx);
  void app.register(async (page) => accountPage(page, ctx, sessionTtlMs));
  return app;
}
