import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import { fromWire, type ShardJobResult, type WireRecord } from '../../shared/queue/index.js';
import { appendShardLog, compactShardLog, type AccountDoc, writeProjectionSnapshot, writeCheckpoint, type FoldedEntry, type ShardLogDoc } from '../../shared/store/index.js';
import { expireAllocations, insertTierTransitions, listUnpublishedEvents, loadLedgerState } from '../../shared/store/index.js';
import { EventOutbox } from './eventOutbox.js';
import type { AccountReadModel } from '../../shared/readModel/index.js';
import { failpoint } from '../../shared/runtime/index.js';
import { ShardState, type PlannedBatch, type PricingContext, type ProjectionWrite } from './shardState.js';
import { planTick } from './accountFolds.js';
import { HorizonSnapshots } from './horizonSnapshots.js';
import { loadShardState } from './takeover.js';

export interface ShardOwnerDeps {
  db: Db;
  js: JetStreamClient;
  nc: NatsConnection;
  logger: Logger;
  pricing: PricingContext;
  dedupHorizonMs: number;
  /** HORIZON_SNAPSHOT_MS: how often the owner snapshots its dedup horizon for the next takeover. */
  horizonSnapshotMs: number;
  readModel: AccountReadModel;
  clock?: () => number;
}

/** How often a busy owner records a checkpoint. */
const CHECKPOINT_EVERY_MS = 10_000;

/** How often an owner empties the ids of log entries past the dedup horizon. */
const COMPACT_EVERY_MS = 3_600_000;

/** How many times a batch is re-planned after losing the log race before the job fails (and is retried). */
const MAX_CONFLICTS = 5;

/** Projection writes taken from an owner, written by whoever flushes. */
export interface PendingWrite {
  state: ShardState;
  seq: number;
  /** The projection snapshot to write; null when no projection changed since the last one. */
  write: ProjectionWrite | null;
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
  private lastAppendAt = 0;
  private writesInFlight = 0;
  private checkpointedAt = 0;
  private readonly written = { log: 0, projections: 0, checkpoints: 0 };
  private lock: Promise<void> = Promise.resolve();
  private sweeping = false;
  private readonly clock: () => number;
  private readonly outbox: EventOutbox;
  private readonly snapshots: HorizonSnapshots;
  /** The next read-model write must replace the shard's whole model (after a load). */
  private readModelFull = true;

  /** Compaction scans the shard log: not at takeover (a busy moment), first an interval later. */
  private compactedAt: number;

  constructor(readonly shard: number, private readonly deps: ShardOwnerDeps) {
    this.clock = deps.clock ?? Date.now;
    this.compactedAt = this.clock();
    this.outbox = new EventOutbox({ db: deps.db, js: deps.js, logger: deps.logger, clock: this.clock });
    this.snapshots = new HorizonSnapshots(shard, { db: deps.db, logger: deps.logger, intervalMs: deps.horizonSnapshotMs, clock: this.clock });
  }

  /** Documents this owner wrote (inserted or updated), for the benchmark's docs-per-record figure. */
  get writes(): { log: number; projections: number; checkpoints: number; events: number } {
    return { ...this.written, events: this.outbox.stored };
  }

  get seq(): number {
    return this.state?.seq ?? 0;
  }

  /** Takes the shard: loads it and writes its read model, then folds what its previous owners left unfolded. */
  async open(): Promise<void> {
    const unfolded = await this.exclusive(async () => {
      const entries = await this.load();
      await this.publishReadModel();
      return entries;
    });
    await this.sweep(unfolded);
  }

  /** Loads the shard's state from the store; callers hold the lock. Returns the entries to sweep. */
  private async load(): Promise<FoldedEntry[]> {
    const started = this.clock();
    const { db, logger, pricing } = this.deps;
    const { state, events, snap, restoredSeq } = await loadShardState({ db, logger, pricing, snapshots: this.snapshots }, this.shard, started - this.deps.dedupHorizonMs);
    this.state = state;
    this.readModelFull = true;
    this.outbox.add(events);
    this.outbox.adopt(await listUnpublishedEvents(this.deps.db, this.shard));
    await this.outbox.deliver();
    this.deps.logger.info({ shard: this.shard, seq: state.seq, accounts: snap.accounts.length, replayed: snap.tail.length, ids: state.idCount, snapshot: restoredSeq, ms: this.clock() - started }, 'shard loaded');
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
    const streamSeqs = records.map((r) => r[8] ?? 0);
    return this.commit(jobId, (state, now) => state.planUsage(usage, jobId, now, streamSeqs));
  }

  /** Folds ledger entries; `refused` lists the positions of those refused as `amount_out_of_range` (now or before). */
  async processFolds(entries: readonly FoldedEntry[], jobId: string): Promise<ShardJobResult> {
    const result = await this.commit(jobId, (state, now) => {
      const doc = state.planFolds(entries, jobId, now);
      return { doc, charged: doc.folds.filter((f) => !f.refused).length, duplicates: doc.duplicates };
    });
    const refused = entries.flatMap((e, i) => (this.state?.isRefusedFold(e.id) ? [i] : []));
    return refused.length > 0 ? { ...result, refused } : result;
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
    await this.flush();
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

  private commit(jobId: string, plan: (state: ShardState, now: number) => PlannedBatch, always = false): Promise<ShardJobResult> {
    return this.exclusive(() => this.commitAlone(jobId, plan, always));
  }

  private async commitAlone(jobId: string, plan: (state: ShardState, now: number) => PlannedBatch, always: boolean): Promise<ShardJobResult> {
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
      // Inside the lock: a reload here leaves its sweep to the next tick or takeover.
      const state = this.state ?? (await this.load(), this.state);
      if (!state) throw new Error(`shard ${this.shard} failed to load`);
      const planned = plan(state, this.clock());
      const refused = planned.refused?.length ? { refused: planned.refused } : {};
      // Nothing new (all redelivered, or refused before): no entry, the same answer.
      if (!always && planned.charged === 0 && planned.duplicates === 0 && planned.doc.folds.length === 0 && !planned.doc.refused?.length) {
        // A retry of a job whose read-model write failed: that write is still owed.
        await this.publishReadModel();
        return { seq: null, charged: 0, duplicates: 0, ...refused };
      }
      const outcome = await appendShardLog(this.deps.db, planned.doc);
      this.written.log++;
      if (outcome === 'conflict') {
        this.deps.logger.warn({ shard: this.shard, seq: planned.doc.seq, job: jobId }, 'shard log step taken by another owner; reloading');
        this.state = null;
        continue;
      }
      this.lastAppendAt = this.clock();
      failpoint('worker.after-log-append');
      this.outbox.add(state.apply(planned.doc));
      this.snapshots.afterApply(state);
      await this.outbox.deliver();
      // Before the job is done: an acked record is readable (SPEC 9). A failure fails the job, whose retry writes it.
      await this.publishReadModel();
      return { seq: planned.doc.seq, charged: planned.charged, duplicates: planned.duplicates, ...refused };
    }
    throw new Error(`shard ${this.shard}: lost the log race ${MAX_CONFLICTS} times`);
  }

  /**
   * Writes what changed to the read model (callers hold the lock, so writes go out in log
   * order): every account after a (re)load or when Redis lost the model, else the accounts
   * changed since the last write. `stale` (a later owner already wrote a later position)
   * is no error: this owner's next append will find out it is behind.
   */
  private async publishReadModel(): Promise<void> {
    const state = this.state;
    if (!state) return;
    if (this.readModelFull) {
      state.takeUnread();
      await this.deps.readModel.replace(this.shard, { seq: state.seq, ...state.totals }, state.accountDocs());
      this.readModelFull = false;
      return;
    }
    const docs = state.takeUnread();
    let outcome;
    try {
      outcome = await this.deps.readModel.write(this.shard, { seq: state.seq, ...state.totals }, docs);
    } catch (err) {
      state.unreadAgain(docs.map((d) => d._id));
      throw err;
    }
    if (outcome === 'not_loaded') {
      this.readModelFull = true;
      await this.publishReadModel();
    }
  }

  /**
   * The event outbox's turn in a flush: stores what failed to store before (projections
   * wait for it, see `takeWrite`), and publishes again what is stored but not yet on NATS.
   */
  async deliverEvents(final = false): Promise<void> {
    await this.outbox.store().catch((err) => this.deps.logger.warn({ err, shard: this.shard }, 'crossing events not stored; projections wait'));
    const publishing = this.outbox.publish();
    if (final) await publishing;
  }

  /**
   * Writes changed projections; when nothing changed meanwhile, records the checkpoint so
   * the next owner replays only what came after. Flushes run one after the other, and a
   * caller always gets one that started after its call (so the final flush misses nothing).
   */
  flush(final = false): Promise<void> {
    const next = (this.flushing ?? Promise.resolve()).catch(() => undefined).then(() => this.flushOnce(final));
    this.flushing = next;
    return next.finally(() => {
      if (this.flushing === next) this.flushing = null;
    });
  }

  private async flushOnce(final: boolean): Promise<void> {
    await this.deliverEvents(final);
    const pending = this.takeWrite();
    if (!pending) return;
    let failure: unknown = null;
    try {
      await this.storeWrite(pending);
    } catch (err) {
      failure = err;
    }
    await this.afterWrite(pending, failure, final);
    if (failure) throw failure;
  }

  /** Writes a taken projection snapshot (a chunk or a few and a manifest); counted in `writes`. */
  async storeWrite(pending: PendingWrite): Promise<void> {
    const { write } = pending;
    if (!write) return;
    await writeProjectionSnapshot(this.deps.db, this.shard, write.seq, write, new Date(this.clock()));
    this.written.projections += write.chunks.length + 1;
  }

  /** Takes the shard's projections as a snapshot when any changed since the last (`storeWrite` writes it). */
  takeWrite(): PendingWrite | null {
    const state = this.state;
    // A projection written past an entry whose events are not stored would leave them to nobody.
    if (!state || this.outbox.blocking) return null;
    this.writesInFlight++;
    return { state, seq: state.seq, write: state.takeProjections() };
  }

  /**
   * Completes a write from `takeWrite`: hands it back on failure; otherwise records the
   * checkpoint when due and nothing else is pending, and compacts when due.
   */
  async afterWrite(pending: PendingWrite, failure: unknown, final = false): Promise<void> {
    const { state, seq, write } = pending;
    this.writesInFlight--;
    if (failure) {
      if (write) state.projectionsUnwritten();
      return;
    }
    if (state !== this.state) return;
    // The store holds every projection through `seq` when this write was a snapshot at
    // `seq`, or when nothing changed since the last one and no other write is under way.
    const complete = write !== null || (!state.hasUnwritten() && this.writesInFlight === 0);
    // The checkpoint only shortens the next takeover's replay: at most every few seconds,
    // and whenever `final` (a handover).
    if (complete && seq > this.checkpointed && (final || this.clock() - this.checkpointedAt >= CHECKPOINT_EVERY_MS)) {
      this.checkpointedAt = this.clock();
      await writeCheckpoint(this.deps.db, this.shard, seq);
      this.written.checkpoints++;
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
   * Catches up with a log that moved on while this owner was not looking (a former owner
   * finishing a batch after this one loaded, on a shard quiet since): the compare-and-set
   * of the next append would catch it, but a quiet shard may have no next append. So it
   * appends an empty entry, a fence: if the step is taken, it reloads (and fences again).
   * A former owner still holding a job can itself reload and append later, so this runs at
   * every handover and, on a shard that stays quiet, periodically (`idleFor`).
   */
  async catchUp(): Promise<void> {
    await this.commit(`fence-${this.shard}`, (state, now) => ({ doc: state.planFence(now), charged: 0, duplicates: 0 }), true);
  }

  /** Milliseconds since this owner last appended to the log (a fence counts). */
  idleFor(): number {
    return this.clock() - this.lastAppendAt;
  }

  /** Resolves once the horizon snapshot being written, if any, is stored or given up (before the store connection closes). */
  settled(): Promise<void> {
    return this.snapshots.settled();
  }

  /** Drops the in-memory state (lease lost): the next owner, maybe this one again, reloads. */
  drop(): void {
    this.state = null;
  }
}
