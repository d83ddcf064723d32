import type { Logger } from 'pino';
import type { FoldedEntry, Ladder } from '../../shared/domain/index.js';
import { fromWire, type ShardJobResult, type WireRecord } from '../../shared/queue/index.js';
import { CommitProtocol, type CommitEffects, type Plan } from './core/commitProtocol.js';
import type { HorizonSnapshotPort, OwnerOutbox, ReadModelPort, ShardHousekeepingPort, ShardLedgerPort, ShardLogPort } from './core/ports.js';
import { ShardHousekeeping } from './shardHousekeeping.js';
import { planTick } from './core/accountFolds.js';

/** Full read-model writes in a row that may find Redis emptied under them before the job fails (and is retried). */
const MAX_REPLACE_ATTEMPTS = 5;

/** Everything an owner reads and writes goes through these ports (MongoDB, NATS and Redis in mongoShardStore.ts; memory in the unit tests). */
export interface ShardOwnerDeps {
  log: ShardLogPort;
  store: ShardHousekeepingPort;
  ledger: ShardLedgerPort;
  outbox: OwnerOutbox;
  snapshots: HorizonSnapshotPort;
  readModel: ReadModelPort;
  logger: Logger;
  ladder: Ladder;
  dedupHorizonMs: number;
  /** How often a busy owner records a checkpoint (CHECKPOINT_INTERVAL_MS). */
  checkpointEveryMs: number;
  /** How often an owner empties the ids of log entries past the dedup horizon (LOG_COMPACT_INTERVAL_MS). */
  compactEveryMs: number;
  clock?: () => number;
}

/**
 * The single writer of one shard: the commit protocol (commitProtocol.ts) over its log,
 * the housekeeping beside it (shardHousekeeping.ts), and what a commit owes before its job
 * is answered: crossing events (the outbox), the horizon's snapshots, the read model.
 */
export class ShardOwner {
  /** The commit of this shard's log: the worker fences through it and drops it when the lease is lost. */
  readonly protocol: CommitProtocol;
  /** Projections, checkpoints, expiry and compaction: the worker's flushes run it. */
  readonly housekeeping: ShardHousekeeping;
  private readonly clock: () => number;
  private sweeping = false;
  /** The next read-model write must replace the shard's whole model (after a load). */
  private readModelFull = true;

  constructor(
    readonly shard: number,
    private readonly deps: ShardOwnerDeps,
  ) {
    const clock = (this.clock = deps.clock ?? Date.now);
    this.protocol = new CommitProtocol(shard, deps.log, this.effects(), clock);
    this.housekeeping = new ShardHousekeeping(shard, {
      store: deps.store,
      outbox: deps.outbox,
      state: () => this.protocol.state,
      logger: deps.logger,
      dedupHorizonMs: deps.dedupHorizonMs,
      checkpointEveryMs: deps.checkpointEveryMs,
      compactEveryMs: deps.compactEveryMs,
      clock,
    });
  }

  get seq(): number {
    return this.protocol.state?.seq ?? 0;
  }

  /** Takes the shard: loads it and writes its read model, then folds what its previous owners left unfolded. */
  async open(): Promise<void> {
    await this.sweep(await this.protocol.open());
  }

  private effects(): CommitEffects {
    return {
      loaded: async ({ state, events, snap, restoredSeq }, startedAt) => {
        this.readModelFull = true;
        this.deps.outbox.add(events);
        await this.deps.outbox.adoptUnpublished();
        await this.deps.outbox.deliver();
        this.deps.logger.info(
          {
            shard: this.shard,
            seq: state.seq,
            accounts: snap.accounts.length,
            replayed: snap.tail.length,
            ids: state.idCount,
            snapshot: restoredSeq,
            ms: this.clock() - startedAt,
          },
          'shard loaded',
        );
      },
      lostRace: (entry, job) => this.deps.logger.warn({ shard: this.shard, seq: entry.seq, job }, 'shard log step taken by another owner; reloading'),
      applied: (state, events) => {
        this.deps.outbox.add(events);
        this.deps.snapshots.afterApply(state);
      },
      beforeAnswer: async (appended) => {
        if (appended) await this.deps.outbox.deliver();
        // Before the job is done: an acked record is readable (SPEC 9). A failure fails the job, whose retry writes it.
        await this.publishReadModel();
      },
    };
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
    return this.protocol.commit(jobId, (state, now) => state.planUsage(usage, jobId, now, streamSeqs));
  }

  /** Folds ledger entries; `refused` lists the positions of those refused as `amount_out_of_range` (now or before). */
  async processFolds(entries: readonly FoldedEntry[], jobId: string): Promise<ShardJobResult> {
    const result = await this.protocol.commit(jobId, (state, now) => {
      const doc = state.planFolds(entries, jobId, now);
      return { doc, charged: doc.folds.filter((f) => !f.refused).length, duplicates: doc.duplicates };
    });
    const refused = entries.flatMap((e, i) => (this.protocol.state?.isRefusedFold(e.id) ? [i] : []));
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
    const ladder = this.deps.ladder;
    // The owner's state knows every entry it folded: the sweep reads the ledger and the
    // allocations, never the shard log (a scan of every shard's entries, growing with
    // every record). An entry another owner folded since is found again at the commit.
    if (this.protocol.state) await this.sweep(await this.deps.ledger.unfolded(this.protocol.state.foldedIds));
    const state = this.protocol.state ?? (await this.open(), this.protocol.state);
    if (!state) throw new Error(`shard ${this.shard} failed to load`);
    await this.deps.ledger.recordTransitions(planTick(state.accountDocs(), tickId, now, ladder).transitions);
    let counts = { accounts: 0, tierChanges: 0, plansExpired: 0 };
    const tick: Plan = (current, at) => {
      const plan = planTick(current.accountDocs(), tickId, now, ladder);
      counts = plan.counts;
      const doc = current.planFolds(plan.folds, jobId, at);
      return { doc, charged: doc.folds.length, duplicates: doc.duplicates };
    };
    const result = await this.protocol.commit(jobId, tick);
    const allocationsExpired = await this.deps.ledger.expireAllocations(now);
    await this.housekeeping.flush();
    return { seq: result.seq, charged: 0, duplicates: 0, tick: { ...counts, allocationsExpired } };
  }

  /**
   * Writes what changed to the read model (callers hold the lock, so writes go out in log
   * order): every account after a (re)load or when Redis lost the model, else the accounts
   * changed since the last write. `stale` (a later owner already wrote a later position)
   * is no error: this owner's next append will find out it is behind.
   */
  private async publishReadModel(): Promise<void> {
    const state = this.protocol.state;
    if (!state) return;
    if (this.readModelFull) {
      state.takeUnread();
      // Redis emptied while the accounts were staged: stage them all again (a few tries,
      // then the job fails and its retry writes the model; never a partial model).
      for (let attempt = 1; ; attempt++) {
        const outcome = await this.deps.readModel.replace(this.shard, state.position, state.accountDocs());
        if (outcome !== 'lost') break;
        this.deps.logger.warn({ shard: this.shard, attempt }, 'read model emptied while it was written; writing it again');
        if (attempt >= MAX_REPLACE_ATTEMPTS) throw new Error(`shard ${this.shard}: the read model was emptied during ${attempt} full writes in a row`);
      }
      this.readModelFull = false;
      return;
    }
    const docs = state.takeUnread();
    let outcome;
    try {
      outcome = await this.deps.readModel.write(this.shard, state.position, docs);
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
   * Catches up with a log that moved on while this owner was not looking (a former owner
   * finishing a batch after this one loaded, on a shard quiet since): the compare-and-set
   * of the next append would catch it, but a quiet shard may have no next append. So it
   * fences (CommitProtocol.fence). A former owner still holding a job can itself reload
   * and append later, so this runs at every handover and, on a shard that stays quiet,
   * periodically (`idleFor`).
   */
  async catchUp(): Promise<void> {
    await this.protocol.fence();
  }

  /** Resolves once the horizon snapshot being written, if any, is stored or given up (before the store connection closes). */
  settled(): Promise<void> {
    return this.deps.snapshots.settled();
  }

  /** Drops the in-memory state (lease lost): the next owner, maybe this one again, reloads. */
  drop(): void {
    this.protocol.drop();
  }
}
