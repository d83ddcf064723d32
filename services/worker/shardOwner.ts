import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { UsageRecord, Kind, Category } from '../../shared/domain/index.js';
import { billingEventSubject } from '../../shared/bus/index.js';
import type { ShardJobResult, WireRecord } from '../../shared/queue/index.js';
import { appendShardLog, insertEvents, loadShard, writeAccounts, writeCheckpoint, type EventDoc, type FoldedEntry, type ShardLogDoc } from '../../shared/store/index.js';
import { ShardState, type PricingContext } from './shardState.js';

export interface ShardOwnerDeps {
  db: Db;
  js: JetStreamClient;
  nc: NatsConnection;
  logger: Logger;
  pricing: PricingContext;
  dedupHorizonMs: number;
  clock?: () => number;
}

/** How many times a batch is re-planned after losing the log race before the job fails (and is retried). */
const MAX_CONFLICTS = 5;

export function fromWire(w: WireRecord): UsageRecord {
  return { id: w[0], accountId: w[1], kind: w[2] as Kind, quantity: BigInt(w[3]), appliesTo: w[4] as Category, occurredAt: w[5], costMicros: w[6] === null ? null : BigInt(w[6]), meta: null };
}

/**
 * The single writer of one shard: owns its state in memory, appends its log, and keeps
 * the account projections up to date, coalesced. Losing the log race (another owner wrote
 * the step) means this view is stale: it reloads from the store and plans again, so a
 * record is charged by whichever entry reached the log first, never twice.
 */
export class ShardOwner {
  private state: ShardState | null = null;
  private flushing: Promise<void> | null = null;
  private checkpointed = 0;
  private readonly clock: () => number;

  constructor(readonly shard: number, private readonly deps: ShardOwnerDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  get seq(): number {
    return this.state?.seq ?? 0;
  }

  async open(): Promise<void> {
    const started = this.clock();
    const snap = await loadShard(this.deps.db, this.shard, new Date(started - this.deps.dedupHorizonMs));
    const { state, events } = ShardState.fromSnapshot(this.shard, snap, this.deps.pricing);
    this.state = state;
    await this.emit(events);
    this.deps.logger.info({ shard: this.shard, seq: state.seq, accounts: snap.accounts.length, replayed: snap.tail.length, ids: state.idCount, ms: this.clock() - started }, 'shard loaded');
  }

  async processUsage(records: readonly WireRecord[], jobId: string): Promise<ShardJobResult> {
    const usage = records.map(fromWire);
    return this.commit(jobId, (state, now) => state.planUsage(usage, jobId, now));
  }

  async processFolds(entries: readonly FoldedEntry[], jobId: string): Promise<ShardJobResult> {
    return this.commit(jobId, (state, now) => {
      const doc = state.planFolds(entries, jobId, now);
      return { doc, charged: doc.folds.length, duplicates: doc.duplicates };
    });
  }

  private async commit(jobId: string, plan: (state: ShardState, now: number) => { doc: ShardLogDoc; charged: number; duplicates: number }): Promise<ShardJobResult> {
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
      const state = this.state ?? (await this.open(), this.state);
      if (!state) throw new Error(`shard ${this.shard} failed to load`);
      const planned = plan(state, this.clock());
      if (planned.charged === 0 && planned.duplicates === 0) {
        return { seq: null, charged: 0, duplicates: planned.duplicates };
      }
      const outcome = await appendShardLog(this.deps.db, planned.doc);
      if (outcome === 'conflict') {
        this.deps.logger.warn({ shard: this.shard, seq: planned.doc.seq, job: jobId }, 'shard log step taken by another owner; reloading');
        this.state = null;
        continue;
      }
      const events = state.apply(planned.doc);
      await this.emit(events);
      return { seq: planned.doc.seq, charged: planned.charged, duplicates: planned.duplicates };
    }
    throw new Error(`shard ${this.shard}: lost the log race ${MAX_CONFLICTS} times`);
  }

  /** Stores crossing events (once, by id) and publishes the new ones on billing.events.<account>. */
  private async emit(events: EventDoc[]): Promise<void> {
    const fresh = await insertEvents(this.deps.db, events);
    for (const e of fresh) {
      const body = JSON.stringify({ id: e._id, type: e.type, account_id: e.account_id, balance_micros: e.balance_micros.toString(), at: e.at.toISOString() });
      await this.deps.js.publish(billingEventSubject(e.account_id), body, { msgID: e._id });
    }
  }

  /**
   * Writes changed projections; when nothing changed meanwhile, records the checkpoint so
   * the next owner replays only what came after. One flush at a time per shard.
   */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = (async () => {
      const state = this.state;
      if (!state) return;
      const seq = state.seq;
      const docs = state.takeDirty();
      try {
        if (docs.length > 0) await writeAccounts(this.deps.db, docs);
      } catch (err) {
        state.markDirty(docs.map((d) => d._id));
        throw err;
      }
      if (!state.hasDirty() && seq > this.checkpointed) {
        await writeCheckpoint(this.deps.db, this.shard, seq);
        this.checkpointed = seq;
      }
      state.expireIds(this.clock() - this.deps.dedupHorizonMs);
    })().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Drops the in-memory state (lease lost): the next owner, maybe this one again, reloads. */
  drop(): void {
    this.state = null;
  }

  hasPendingWrites(): boolean {
    return this.state?.hasDirty() ?? false;
  }
}
