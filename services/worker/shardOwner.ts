import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { UsageRecord, Kind, Category } from '../../shared/domain/index.js';
import { billingEventSubject } from '../../shared/bus/index.js';
import type { ShardJobResult, WireRecord } from '../../shared/queue/index.js';
import { appendShardLog, compactShardLog, hasLogAfter, insertEvents, listShardAccounts, type AccountDoc, loadShard, writeAccounts, writeCheckpoint, type EventDoc, type FoldedEntry, type ShardLogDoc } from '../../shared/store/index.js';
import { expireAllocations, insertTierTransitions, loadLedgerState } from '../../shared/store/index.js';
import { failpoint } from '../../shared/runtime/index.js';
import { ShardState, type PricingContext } from './shardState.js';
import { planTick } from './accountFolds.js';

export interface ShardOwnerDeps {
  db: Db;
  js: JetStreamClient;
  nc: NatsConnection;
  logger: Logger;
  pricing: PricingContext;
  dedupHorizonMs: number;
  clock?: () => number;
}

/** How often an owner compares the stored projections with its state. */
const RECONCILE_EVERY_MS = 60_000;

/** How often an owner empties the ids of log entries past the dedup horizon. */
const COMPACT_EVERY_MS = 3_600_000;

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
  /** Documents this owner wrote (inserted or updated), for the benchmark's docs-per-record figure. */
  readonly writes = { log: 0, projections: 0, checkpoints: 0, events: 0 };
  private lock: Promise<void> = Promise.resolve();
  private compactedAt = 0;
  private reconciledAt = Date.now();
  private sweeping = false;
  private readonly clock: () => number;

  constructor(readonly shard: number, private readonly deps: ShardOwnerDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  get seq(): number {
    return this.state?.seq ?? 0;
  }

  /** Takes the shard: loads it, then folds what its previous owners left unfolded. */
  async open(): Promise<void> {
    const unfolded = await this.exclusive(() => this.load());
    await this.sweep(unfolded);
  }

  /** Loads the shard's state from the store; callers hold the lock. Returns the entries to sweep. */
  private async load(): Promise<FoldedEntry[]> {
    const started = this.clock();
    const snap = await loadShard(this.deps.db, this.shard, new Date(started - this.deps.dedupHorizonMs));
    const { state, events } = ShardState.fromSnapshot(this.shard, snap, this.deps.pricing);
    this.state = state;
    await this.emit(events);
    this.deps.logger.info({ shard: this.shard, seq: state.seq, accounts: snap.accounts.length, replayed: snap.tail.length, ids: state.idCount, ms: this.clock() - started }, 'shard loaded');
    return snap.unfolded ?? [];
  }

  /**
   * Folds the ledger entries and allocations whose writer died between its insert and its
   * fold job (or whose job Redis lost): the first step of a new owner. Best effort: what
   * fails here is folded by the entry's own job or by the next takeover.
   */
  private async sweep(entries: FoldedEntry[]): Promise<void> {
    if (entries.length === 0 || this.sweeping) return;
    this.sweeping = true;
    try {
      const result = await this.processFolds(entries, `sweep-${this.shard}`);
      this.deps.logger.info({ shard: this.shard, unfolded: entries.length, folded: result.charged }, 'folded entries left unfolded');
    } catch (err) {
      this.deps.logger.warn({ err, shard: this.shard }, 'sweep of unfolded entries failed');
    } finally {
      this.sweeping = false;
    }
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

  /**
   * The ladder tick on this shard as of `now` (SPEC 8). Tier and expiry changes are a log
   * entry like any fold, so a rebuild reproduces them. Transitions are recorded before it
   * (deterministic ids: a crash in between loses none, a re-run adds none); allocations of
   * ended plans are marked expired after it, from their own expires_at, so a crash there
   * is finished by the next tick. It starts with the takeover's sweep, so an entry whose
   * fold job was lost while this owner kept the shard waits at most one tick interval.
   */
  async processTick(tickId: string, now: number, jobId: string): Promise<ShardJobResult> {
    const ladder = this.deps.pricing.ladder;
    if (this.state) await this.sweep((await loadLedgerState(this.deps.db, this.shard)).unfolded);
    const state = this.state ?? (await this.open(), this.state);
    if (!state) throw new Error(`shard ${this.shard} failed to load`);
    await insertTierTransitions(this.deps.db, planTick(state.accountDocs(), tickId, now, ladder).transitions);
    let counts = { accounts: 0, tierChanges: 0, plansExpired: 0 };
    const result = await this.commit(jobId, (current, at) => {
      const plan = planTick(current.accountDocs(), tickId, now, ladder);
      counts = plan.counts;
      const doc = current.planFolds(plan.folds, jobId, at);
      return { doc, charged: doc.folds.length, duplicates: doc.duplicates };
    });
    const allocationsExpired = await expireAllocations(this.deps.db, this.shard, now);
    await this.flushNow();
    return { seq: result.seq, charged: 0, duplicates: 0, tick: { ...counts, allocationsExpired } };
  }

  /**
   * Runs `fn` alone: a batch commit and a reload must not interleave, or the commit would
   * fold its entry into a state the reload is about to replace.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.then(() => undefined, () => undefined);
    return run;
  }

  private commit(jobId: string, plan: (state: ShardState, now: number) => { doc: ShardLogDoc; charged: number; duplicates: number }): Promise<ShardJobResult> {
    return this.exclusive(() => this.commitAlone(jobId, plan));
  }

  private async commitAlone(jobId: string, plan: (state: ShardState, now: number) => { doc: ShardLogDoc; charged: number; duplicates: number }): Promise<ShardJobResult> {
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
      // Inside the lock: a reload here leaves its sweep to the next tick or takeover.
      const state = this.state ?? (await this.load(), this.state);
      if (!state) throw new Error(`shard ${this.shard} failed to load`);
      const planned = plan(state, this.clock());
      if (planned.charged === 0 && planned.duplicates === 0) {
        return { seq: null, charged: 0, duplicates: planned.duplicates };
      }
      const outcome = await appendShardLog(this.deps.db, planned.doc);
      this.writes.log++;
      if (outcome === 'conflict') {
        this.deps.logger.warn({ shard: this.shard, seq: planned.doc.seq, job: jobId }, 'shard log step taken by another owner; reloading');
        this.state = null;
        continue;
      }
      failpoint('worker.after-log-append');
      const events = state.apply(planned.doc);
      await this.emit(events);
      return { seq: planned.doc.seq, charged: planned.charged, duplicates: planned.duplicates };
    }
    throw new Error(`shard ${this.shard}: lost the log race ${MAX_CONFLICTS} times`);
  }

  /** Stores crossing events (once, by id) and publishes the new ones on billing.events.<account>. */
  private async emit(events: EventDoc[]): Promise<void> {
    const fresh = await insertEvents(this.deps.db, events);
    this.writes.events += fresh.length;
    for (const e of fresh) {
      const body = JSON.stringify({ id: e._id, type: e.type, account_id: e.account_id, balance_micros: e.balance_micros.toString(), at: e.at.toISOString() });
      await this.deps.js.publish(billingEventSubject(e.account_id), body, { msgID: e._id });
    }
  }

  /**
   * Writes changed projections; when nothing changed meanwhile, records the checkpoint so
   * the next owner replays only what came after. Flushes run one after the other, and a
   * caller always gets one that started after its call (so the final flush misses nothing).
   */
  flush(): Promise<void> {
    const next = (this.flushing ?? Promise.resolve()).catch(() => undefined).then(() => this.flushOnce());
    this.flushing = next;
    return next.finally(() => {
      if (this.flushing === next) this.flushing = null;
    });
  }

  private async flushOnce(): Promise<void> {
    const state = this.state;
    if (!state) return;
    const seq = state.seq;
    const docs = state.takeDirty();
    try {
      if (docs.length > 0) await writeAccounts(this.deps.db, docs);
      this.writes.projections += docs.length;
    } catch (err) {
      state.markDirty(docs.map((d) => d._id));
      throw err;
    }
    if (!state.hasDirty() && seq > this.checkpointed) {
      await writeCheckpoint(this.deps.db, this.shard, seq);
      this.writes.checkpoints++;
      this.checkpointed = seq;
    }
    const horizon = this.clock() - this.deps.dedupHorizonMs;
    state.expireIds(horizon);
    if (this.clock() - this.compactedAt >= COMPACT_EVERY_MS) {
      this.compactedAt = this.clock();
      const n = await compactShardLog(this.deps.db, this.shard, new Date(horizon));
      if (n > 0) this.deps.logger.info({ shard: this.shard, entries: n }, 'compacted shard log ids past the dedup horizon');
    }
  }

  /**
   * Anti-entropy, for what the log's compare-and-set cannot see on a quiet shard: a former
   * owner that finished a batch after this one loaded (reload, to fold it), or one that,
   * paused mid-flush, wrote an older projection over a newer one (rewrite it). Re-reads
   * the shard's projections and marks every account that differs from the state.
   */
  async reconcile(): Promise<number> {
    const unfolded = await this.exclusive(async () => {
      if (!this.state || !(await hasLogAfter(this.deps.db, this.shard, this.state.seq))) return [];
      this.deps.logger.warn({ shard: this.shard, seq: this.state.seq }, 'shard log moved on without this owner; reloading');
      this.state = null;
      return this.load();
    });
    await this.sweep(unfolded);
    const state = this.state;
    if (!state) return 0;
    const stored = new Map<string, AccountDoc>();
    for await (const doc of listShardAccounts(this.deps.db, this.shard)) stored.set(doc._id, doc);
    const stale = state.differing(stored);
    state.markDirty(stale);
    if (stale.length > 0) this.deps.logger.warn({ shard: this.shard, accounts: stale.length }, 'rewriting projections that differ from the shard log');
    return stale.length;
  }

  /** The periodic pass: flush, and now and then reconcile. */
  async maintain(): Promise<void> {
    if (this.clock() - this.reconciledAt >= RECONCILE_EVERY_MS) {
      this.reconciledAt = this.clock();
      await this.reconcile();
    }
    await this.flush();
  }

  /** Writes every projection changed so far (flush already guarantees a fresh pass). */
  flushNow(): Promise<void> {
    return this.flush();
  }

  /** Drops the in-memory state (lease lost): the next owner, maybe this one again, reloads. */
  drop(): void {
    this.state = null;
  }

  hasPendingWrites(): boolean {
    return this.state?.hasDirty() ?? false;
  }
}
