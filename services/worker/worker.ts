import { randomUUID } from 'node:crypto';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { Bus } from '../../shared/bus/index.js';
import { batchDoneSubject } from '../../shared/bus/index.js';
import {
  closeConsumer,
  duplicateRedis,
  FoldSigner,
  fromFoldJobEntry,
  queueAddress,
  shardQueueName,
  type ShardJob,
  type ShardJobResult,
} from '../../shared/queue/index.js';
import { AccountReadModel } from '../../shared/readModel/index.js';
import { observeUsageBatch } from '../../shared/runtime/index.js';
import type { PricingContext } from './core/shardState.js';
import { FlushScheduler } from './flushScheduler.js';
import { FoldDesk } from './foldDesk.js';
import { planBalance } from './leasePolicy.js';
import { Leases } from './leases.js';
import { mongoShardOwner, type OwnerWrites } from './mongoShardStore.js';
import type { ShardOwner } from './shardOwner.js';

export interface WorkerConfig {
  shards: number;
  /** The deployment's prefix for its Redis keys (MONGO_DB), shared with the API and the CLI. */
  namespace: string;
  dedupHorizonMs: number;
  pricing: PricingContext;
  /** How often owned shards write their changed projections to the store (PROJECTION_FLUSH_MS). */
  flushIntervalMs: number;
  /** Shard lease time to live (WORKER_LEASE_TTL_MS); renewed every third of it. */
  leaseTtlMs: number;
  /** How often an owner snapshots its dedup horizon (HORIZON_SNAPSHOT_MS). */
  horizonSnapshotMs: number;
  /** WORKER_IDLE_FENCE_MS: a shard quiet this long is fenced. */
  idleFenceMs: number;
  /** WORKER_CLOSE_WAIT_MS: how long a lost shard's consumer close is waited for. */
  closeWaitMs: number;
  /** CHECKPOINT_INTERVAL_MS. */
  checkpointEveryMs: number;
  /** LOG_COMPACT_INTERVAL_MS. */
  compactEveryMs: number;
}

export interface WorkerDeps {
  db: Db;
  bus: Bus;
  /** Connection for leases; each shard's BullMQ worker opens its own to the same servers. */
  redis: Redis;
  logger: Logger;
  clock?: () => number;
}

interface Held {
  owner: ShardOwner;
  /** What the owner wrote so far (added to the process's counts when it is let go). */
  writes: () => OwnerWrites;
  consumer: Worker<ShardJob, ShardJobResult>;
  /** The consumer's own connection (BullMQ does not close a connection it was handed). */
  connection: Redis;
  /** The shard's fold requests over NATS (the API's fast path; fold jobs are the fallback). */
  desk: FoldDesk;
}

/**
 * A worker process: takes a fair share of the shard leases, and for each shard it holds
 * runs one BullMQ consumer (concurrency 1) feeding that shard's owner.
 */
export class ShardWorkerService {
  private readonly held = new Map<number, Held>();
  /** Shards whose lease this process holds: those in `held` and those still loading. */
  private readonly leased = new Set<number>();
  private readonly leases: Leases;
  private timer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private balancing: Promise<void> | null = null;
  private readonly flushes: FlushScheduler;
  /** The injected clock (tests), else the wall clock: every instant and duration here reads it. */
  private readonly now: () => number;
  private stopped = false;
  readonly id = `worker-${randomUUID().slice(0, 8)}`;
  /** Records charged and duplicates seen by this process's shard owners. */
  readonly counters = { charged: 0, duplicates: 0, batches: 0, foldRequests: 0, foldCommits: 0 };
  /** Store writes of the shard owners this process has let go of (added up at each stop). */
  readonly writes: OwnerWrites = { log: 0, projections: 0, checkpoints: 0, events: 0 };

  private readonly readModel: AccountReadModel;
  private readonly foldSigner: FoldSigner;

  constructor(
    private readonly config: WorkerConfig,
    private readonly deps: WorkerDeps,
  ) {
    this.now = deps.clock ?? Date.now;
    this.flushes = new FlushScheduler({ logger: deps.logger, idleFenceMs: config.idleFenceMs, clock: this.now });
    this.leases = new Leases(deps.redis, config.namespace, this.id, config.leaseTtlMs);
    this.readModel = new AccountReadModel(deps.redis, config.namespace, config.shards);
    this.foldSigner = new FoldSigner(deps.redis, config.namespace);
  }

  async start(): Promise<void> {
    const ttl = this.config.leaseTtlMs;
    // Renewal has its own timer, started first: a rebalance that is loading a shard (minutes
    // for a large log) must not let the leases it already holds, or the one it is loading, expire.
    this.renewTimer = setInterval(() => void this.renewAll(), Math.floor(ttl / 3));
    await this.rebalance();
    this.timer = setInterval(() => void this.rebalance(), Math.floor(ttl / 3));
    this.flushTimer = setInterval(() => void this.flushes.flush(this.owners()), this.config.flushIntervalMs);
  }

  shardsHeld(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  private owners(): ShardOwner[] {
    return [...this.held.values()].map((h) => h.owner);
  }

  private rebalance(): Promise<void> {
    if (this.balancing || this.stopped) return this.balancing ?? Promise.resolve();
    this.balancing = this.balanceOnce()
      .catch((err) => this.deps.logger.error({ err }, 'rebalance failed'))
      .finally(() => {
        this.balancing = null;
      });
    return this.balancing;
  }

  /** Renews every lease this process holds; a lease found lost is let go at once (a shard still loading is dropped when its load ends). */
  private renewAll(): Promise<void> {
    if (this.renewing) return this.renewing;
    this.renewing = (async () => {
      for (const shard of [...this.leased]) {
        if (await this.leases.renew(shard)) continue;
        this.leased.delete(shard);
        this.deps.logger.warn({ shard, loading: !this.held.has(shard) }, 'shard lease lost');
        await this.dropShard(shard);
      }
    })()
      .catch((err) => this.deps.logger.error({ err }, 'lease renewal failed'))
      .finally(() => {
        this.renewing = null;
      });
    return this.renewing;
  }

  private async balanceOnce(): Promise<void> {
    const live = await this.leases.heartbeat(this.now());
    await this.renewAll();
    const plan = planBalance({ shards: this.config.shards, live, held: [...this.held.keys()], start: Math.floor(Math.random() * this.config.shards) });
    await this.releaseShards(plan.release);
    for (const shard of plan.candidates) {
      if (this.held.size >= plan.target || this.stopped) break;
      if (this.held.has(shard) || !(await this.leases.acquire(shard))) continue;
      this.leased.add(shard);
      await this.startShard(shard);
    }
  }

  private async startShard(shard: number): Promise<void> {
    const log = this.deps.logger.child({ shard });
    const { config } = this;
    const { owner, writes } = mongoShardOwner(shard, {
      db: this.deps.db,
      js: this.deps.bus.js,
      logger: log,
      pricing: config.pricing,
      readModel: this.readModel,
      clock: this.now,
      dedupHorizonMs: config.dedupHorizonMs,
      horizonSnapshotMs: config.horizonSnapshotMs,
      checkpointEveryMs: config.checkpointEveryMs,
      compactEveryMs: config.compactEveryMs,
    });
    try {
      await owner.open();
    } catch (err) {
      log.error({ err }, 'shard load failed; releasing');
      this.leased.delete(shard);
      await this.leases.release(shard);
      return;
    }
    if (!this.leased.has(shard) || this.stopped) {
      // The lease expired during the load (renewal found it taken) or the process is stopping.
      log.warn('shard lease lost while loading; not starting it');
      owner.drop();
      if (this.leased.delete(shard)) await this.leases.release(shard);
      return;
    }
    const connection = duplicateRedis(this.deps.redis, { maxRetriesPerRequest: null });
    connection.on('error', (err) => log.debug({ err }, 'shard consumer connection error'));
    const { name, prefix } = queueAddress(this.config.namespace, shardQueueName(shard));
    const consumer = new Worker<ShardJob, ShardJobResult>(name, (job) => this.process(owner, job), {
      connection,
      prefix,
      concurrency: 1,
      // A dead owner's job is handed on about when its lease has expired.
      lockDuration: 2 * this.config.leaseTtlMs,
      stalledInterval: this.config.leaseTtlMs,
      maxStalledCount: 1000,
      autorun: true,
    });
    consumer.on('failed', (job, err) => log.warn({ err, job: job?.id }, 'shard job failed'));
    consumer.on('error', (err) => log.error({ err }, 'shard consumer error'));
    const desk = new FoldDesk({
      nc: this.deps.bus.nc,
      shard,
      shards: config.shards,
      signer: this.foldSigner,
      fold: (entries, id) => owner.processFolds(entries, id),
      account: (id) => owner.protocol.state?.getAccount(id),
      logger: log,
    });
    this.held.set(shard, { owner, writes, consumer, connection, desk });
  }

  private async process(owner: ShardOwner, job: Job<ShardJob, ShardJobResult>): Promise<ShardJobResult> {
    const data = job.data;
    const id = job.id ?? 'unknown';
    switch (data.type) {
      case 'usage': {
        const started = this.now();
        const result = await owner.processUsage(data.records, id);
        observeUsageBatch(
          data.records.map((r) => r[7]),
          result,
          started,
        );
        this.counters.charged += result.charged;
        this.counters.duplicates += result.duplicates;
        this.counters.batches++;
        this.deps.bus.nc.publish(batchDoneSubject(data.bridge), id);
        return result;
      }
      case 'fold': {
        // The API waits for this job, then reads the read model, which the commit has written.
        return owner.processFolds(data.entries.map(fromFoldJobEntry), id);
      }
      case 'tick':
        return owner.processTick(data.tickId, data.now, id);
    }
  }

  private addWrites(held: Held): void {
    for (const [k, v] of Object.entries(held.writes()) as [keyof OwnerWrites, number][]) this.writes[k] += v;
    this.counters.foldRequests += held.desk.counts.requests;
    this.counters.foldCommits += held.desk.counts.commits;
  }

  /** A lost lease (Redis emptied, this process paused): let go at once, without a final write. */
  private async dropShard(shard: number): Promise<void> {
    this.leased.delete(shard);
    const held = this.held.get(shard);
    if (!held) return;
    this.held.delete(shard);
    // Waiting fold requests are refused (their callers fall back to fold jobs); the group in hand is not waited for.
    void held.desk.close();
    held.owner.drop();
    this.addWrites(held);
    // The job in hand is not waited for: its Redis state may be gone, and a close that
    // never returns would stall every shard. Whatever it still writes, the log orders.
    const closing = closeConsumer(held.consumer, held.connection, { force: true, waitMs: this.config.closeWaitMs }).catch((err) =>
      this.deps.logger.warn({ err, shard }, 'consumer close failed'),
    );
    await Promise.race([closing, new Promise((r) => setTimeout(r, this.config.closeWaitMs).unref())]);
  }

  /**
   * Handovers: finish the jobs in hand, catch up with the log, write every projection in one
   * final flush, then release the leases, so the next owner starts from a checkpoint.
   */
  private async releaseShards(shards: readonly number[]): Promise<void> {
    const held = shards.map((s) => this.held.get(s)).filter((h): h is Held => h !== undefined);
    if (held.length === 0) return;
    const log = this.deps.logger;
    const started = this.now();
    await Promise.all([
      ...held.map((h) =>
        closeConsumer(h.consumer, h.connection, { force: false, waitMs: this.config.closeWaitMs }).catch((err) =>
          log.warn({ err, shard: h.owner.shard }, 'consumer close failed'),
        ),
      ),
      ...held.map((h) => h.desk.close()),
    ]);
    for (const h of held) await h.owner.catchUp().catch((err) => log.error({ err, shard: h.owner.shard }, 'catch-up failed'));
    await this.flushes.flush(
      held.map((h) => h.owner),
      true,
    );
    log.info({ shards: held.map((h) => h.owner.shard), ms: this.now() - started }, 'shards released');
    for (const h of held) {
      this.held.delete(h.owner.shard);
      this.leased.delete(h.owner.shard);
      this.addWrites(h);
      h.owner.drop();
      await this.leases.release(h.owner.shard);
    }
    // After the handover: a snapshot still being written finishes before the store may close.
    await Promise.all(held.map((h) => h.owner.settled()));
  }

  /** Finishes the job in hand on every shard, writes projections, releases the leases. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.balancing;
    // Leases are renewed until their shards are handed over: a long final flush must not lose them.
    await this.releaseShards([...this.held.keys()]);
    if (this.renewTimer) clearInterval(this.renewTimer);
    await this.renewing;
    await this.leases.leave();
    this.deps.logger.info({ counters: this.counters, writes: this.writes }, 'worker stopped');
  }
}
