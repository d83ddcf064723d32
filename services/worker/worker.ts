import { randomUUID } from 'node:crypto';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { Bus } from '../../shared/bus/index.js';
import { batchDoneSubject } from '../../shared/bus/index.js';
import { shardQueueName, type ShardJob, type ShardJobResult } from '../../shared/queue/index.js';
import { Leases } from './leases.js';
import { ShardOwner } from './shardOwner.js';
import type { PricingContext } from './shardState.js';

export interface WorkerConfig {
  shards: number;
  dedupHorizonMs: number;
  pricing: PricingContext;
  /** How often owned shards write their changed projections. @defaultValue 1000 */
  flushIntervalMs?: number;
  /** Shard lease time to live; renewed every third of it. @defaultValue 15000 */
  leaseTtlMs?: number;
}

export interface WorkerDeps {
  db: Db;
  bus: Bus;
  /** Connection for leases; BullMQ workers open their own from `redisUrl`. */
  redis: Redis;
  redisUrl: string;
  logger: Logger;
  clock?: () => number;
}

interface Held {
  owner: ShardOwner;
  consumer: Worker<ShardJob, ShardJobResult>;
}

/**
 * A worker process: takes a fair share of the shard leases, and for each shard it holds
 * runs one BullMQ consumer (concurrency 1) feeding that shard's owner.
 */
export class ShardWorkerService {
  private readonly held = new Map<number, Held>();
  private readonly leases: Leases;
  private timer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private balancing: Promise<void> | null = null;
  private stopped = false;
  readonly id = `worker-${randomUUID().slice(0, 8)}`;
  /** Records charged and duplicates seen by this process's shard owners. */
  readonly counters = { charged: 0, duplicates: 0, batches: 0 };
  /** Store writes of the shard owners this process has let go of (added up at each stop). */
  readonly writes = { log: 0, projections: 0, checkpoints: 0, events: 0 };

  constructor(private readonly config: WorkerConfig, private readonly deps: WorkerDeps) {
    this.leases = new Leases(deps.redis, this.id, config.leaseTtlMs ?? 15_000);
  }

  async start(): Promise<void> {
    await this.rebalance();
    const ttl = this.config.leaseTtlMs ?? 15_000;
    this.timer = setInterval(() => void this.rebalance(), Math.floor(ttl / 3));
    this.flushTimer = setInterval(() => void this.flushAll(), this.config.flushIntervalMs ?? 1000);
  }

  shardsHeld(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
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

  private async balanceOnce(): Promise<void> {
    const live = await this.leases.heartbeat((this.deps.clock ?? Date.now)());
    for (const shard of [...this.held.keys()]) {
      if (!(await this.leases.renew(shard))) {
        this.deps.logger.warn({ shard }, 'shard lease lost');
        await this.stopShard(shard, false);
      }
    }
    const target = Math.ceil(this.config.shards / live);
    for (const shard of [...this.held.keys()].slice(target)) await this.stopShard(shard, true);
    const start = Math.floor(Math.random() * this.config.shards);
    for (let i = 0; i < this.config.shards && this.held.size < target && !this.stopped; i++) {
      const shard = (start + i) % this.config.shards;
      if (this.held.has(shard)) continue;
      if (await this.leases.acquire(shard)) await this.startShard(shard);
    }
  }

  private async startShard(shard: number): Promise<void> {
    const log = this.deps.logger.child({ shard });
    const owner = new ShardOwner(shard, { db: this.deps.db, js: this.deps.bus.js, nc: this.deps.bus.nc, logger: log, pricing: this.config.pricing, dedupHorizonMs: this.config.dedupHorizonMs, ...(this.deps.clock ? { clock: this.deps.clock } : {}) });
    try {
      await owner.open();
    } catch (err) {
      log.error({ err }, 'shard load failed; releasing');
      await this.leases.release(shard);
      return;
    }
    const consumer = new Worker<ShardJob, ShardJobResult>(shardQueueName(shard), (job) => this.process(owner, job), {
      connection: { url: this.deps.redisUrl, maxRetriesPerRequest: null },
      concurrency: 1,
      // A dead owner's job is handed on about when its lease has expired.
      lockDuration: 2 * (this.config.leaseTtlMs ?? 15_000),
      stalledInterval: this.config.leaseTtlMs ?? 15_000,
      maxStalledCount: 1000,
      autorun: true,
    });
    consumer.on('failed', (job, err) => log.warn({ err, job: job?.id }, 'shard job failed'));
    consumer.on('error', (err) => log.error({ err }, 'shard consumer error'));
    this.held.set(shard, { owner, consumer });
  }

  private async process(owner: ShardOwner, job: Job<ShardJob, ShardJobResult>): Promise<ShardJobResult> {
    const data = job.data;
    const id = job.id ?? 'unknown';
    switch (data.type) {
      case 'usage': {
        const result = await owner.processUsage(data.records, id);
        this.counters.charged += result.charged;
        this.counters.duplicates += result.duplicates;
        this.counters.batches++;
        this.deps.bus.nc.publish(batchDoneSubject(data.bridge), id);
        return result;
      }
      case 'fold': {
        const result = await owner.processFolds(data.entries.map((e) => ({ ...e, d: BigInt(e.d) })), id);
        // The API waits for this job and then reads the projection: write it now, not on the timer.
        await owner.flushNow();
        return result;
      }
      case 'tick':
        return owner.processTick(data.tickId, data.now, id);
    }
  }

  private async flushAll(): Promise<void> {
    for (const { owner } of this.held.values()) {
      await owner.maintain().catch((err) => this.deps.logger.error({ err, shard: owner.shard }, 'projection flush failed'));
    }
  }

  private async stopShard(shard: number, release: boolean): Promise<void> {
    const held = this.held.get(shard);
    if (!held) return;
    for (const [k, v] of Object.entries(held.owner.writes) as [keyof ShardOwner['writes'], number][]) this.writes[k] += v;
    this.held.delete(shard);
    if (release) {
      // A handover: finish the job in hand, then leave every projection right (including
      // any a paused former owner may have overwritten) before letting go of the lease.
      await held.consumer.close().catch((err) => this.deps.logger.warn({ err, shard }, 'consumer close failed'));
      await held.owner.reconcile().catch((err) => this.deps.logger.error({ err, shard }, 'final reconcile failed'));
      await held.owner.flush().catch((err) => this.deps.logger.error({ err, shard }, 'final flush failed'));
      await this.leases.release(shard);
    } else {
      // A lost lease (Redis emptied, this process paused) must not wait for the job in hand:
      // its Redis state may be gone, and a close that never returns would stall every shard.
      held.owner.drop();
      const closing = held.consumer.close(true).catch((err) => this.deps.logger.warn({ err, shard }, 'consumer close failed'));
      await Promise.race([closing, new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    held.owner.drop();
  }

  /** Finishes the job in hand on every shard, writes projections, releases the leases. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.balancing;
    for (const shard of [...this.held.keys()]) await this.stopShard(shard, true);
    await this.leases.leave();
    this.deps.logger.info({ counters: this.counters, writes: this.writes }, 'worker stopped');
  }
}
