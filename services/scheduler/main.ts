import { Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { runLadderTick, type TickReport } from '../../shared/app/index.js';
import type { Config } from '../../shared/config/index.js';
import {
  SCHEDULED_TICK_JOB_OPTIONS,
  SCHEDULER_QUEUE,
  ShardQueues,
  closeConsumer,
  duplicateRedis,
  queueAddress,
  redisAuth,
  redisConnection,
} from '../../shared/queue/index.js';
import type { Endpoints } from '../../shared/runtime/index.js';
import { connectMongo } from '../../shared/store/index.js';

export const LADDER_TICK_SCHEDULER = 'ladder-tick';

export interface RunningScheduler {
  stop(): Promise<void>;
}

export interface SchedulerOptions {
  /**
   * How often the scheduler checks that its job scheduler still exists in Redis and
   * registers it again if not (Redis restarted empty, or flushed).
   * @defaultValue 15000
   */
  recheckMs?: number;
}

const RECHECK_MS = 15_000;

/**
 * Composition root of the scheduler (SPEC 8): a BullMQ job scheduler fires `ladder-tick`
 * every LADDER_TICK_INTERVAL_MS, and a consumer runs the tick. Every replica upserts the
 * same scheduler (idempotent) and BullMQ hands each fired job to one consumer; if two ever
 * ran at once, the tick is safe anyway. Redis keeps nothing durable here: each replica
 * checks every `recheckMs` that the job scheduler is still there and registers it again
 * when Redis has lost it, so the tick resumes without a restart.
 */
export async function startScheduler(config: Config, endpoints: Endpoints, logger: Logger, options: SchedulerOptions = {}): Promise<RunningScheduler> {
  const log = logger.child({ service: 'scheduler' });
  const mongo = await connectMongo(endpoints.mongoUrl, config.mongoDb);
  const redis = redisConnection(endpoints.redisUrl, redisAuth(config));
  redis.on('error', (err) => log.warn({ err }, 'redis connection error'));
  const queues = new ShardQueues(redis, config.mongoDb, config.shards, log);
  const scheduler = queueAddress(config.mongoDb, SCHEDULER_QUEUE);
  const queue = new Queue(scheduler.name, { connection: redis, prefix: scheduler.prefix });
  queue.on('error', (err) => log.warn({ err }, 'scheduler queue error'));
  const register = (): Promise<unknown> =>
    queue.upsertJobScheduler(
      LADDER_TICK_SCHEDULER,
      { every: config.ladderTickIntervalMs },
      { name: LADDER_TICK_SCHEDULER, data: {}, opts: SCHEDULED_TICK_JOB_OPTIONS },
    );
  await register();
  // Only a missing scheduler is registered again: an upsert of a present one replaces its
  // pending next job, and replicas re-upserting in turn could keep postponing the tick.
  const recheck = setInterval(() => {
    queue
      .getJobScheduler(LADDER_TICK_SCHEDULER)
      .then(async (present) => {
        if (present !== undefined) return;
        await register();
        log.warn('the ladder tick job scheduler was missing from Redis (restarted empty or flushed?): registered it again');
      })
      .catch((err: unknown) => log.warn({ err }, 'could not check the ladder tick job scheduler'));
  }, options.recheckMs ?? RECHECK_MS);
  recheck.unref();
  // Its own connection (BullMQ adds a blocking one): ticks wait for the shard owners for a while.
  const consumerConnection = duplicateRedis(redis, { maxRetriesPerRequest: null });
  consumerConnection.on('error', (err) => log.debug({ err }, 'scheduler consumer connection error'));
  const consumer = new Worker<Record<string, never>, TickReport>(
    scheduler.name,
    // The fired job's id names the tick: a retried job re-runs the same tick and adds nothing.
    (job) =>
      runLadderTick(
        { queues, db: mongo.db, logger: log },
        { now: Date.now(), source: 'scheduler', tickId: `sched-${job.id ?? job.timestamp}`, timeoutMs: config.ladderTickTimeoutMs },
      ),
    { connection: consumerConnection, prefix: scheduler.prefix, concurrency: 1 },
  );
  consumer.on('failed', (job, err) => log.warn({ err, job: job?.id }, 'ladder tick failed'));
  consumer.on('error', (err) => log.error({ err }, 'scheduler consumer error'));
  log.info({ everyMs: config.ladderTickIntervalMs }, 'scheduler started');
  return {
    stop: async () => {
      clearInterval(recheck);
      // Not waiting for a tick in hand: it waits for the shard owners, up to its timeout (a
      // SIGTERM then timed out and exited 1). Its lock lapses and the same job, with the same
      // tick id, runs again on a scheduler that is up, adding nothing the first run added.
      await closeConsumer(consumer, consumerConnection, { force: true, waitMs: config.workerCloseWaitMs });
      await queue.close();
      await queues.close();
      redis.disconnect();
      await mongo.close();
    },
  };
}
