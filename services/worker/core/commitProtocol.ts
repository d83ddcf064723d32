import type { EventDoc, FoldedEntry, ShardLogDoc } from '../../../shared/domain/index.js';
import type { LoadedShard, ShardLogPort } from './ports.js';
import type { PlannedBatch, ShardState } from './shardState.js';

/** How many times a batch is re-planned after losing the log race before the job fails (and is retried). */
export const MAX_CONFLICTS = 5;

/** A commit's answer (a shard job's result): the position written, or null when nothing was. */
export interface CommitResult {
  seq: number | null;
  charged: number;
  duplicates: number;
  /** Positions, in the batch, of the records refused as `amount_out_of_range` (now or before). */
  refused?: number[];
}

/** Plans the next log entry against the owner's current state, as of `now`. */
export type Plan = (state: ShardState, now: number) => PlannedBatch;

/**
 * What the owner does at each step of the protocol (events, horizon snapshots, the read
 * model). The protocol awaits them in order and holds its lock meanwhile.
 */
export interface CommitEffects {
  /** A (re)load installed `loaded.state`: the events its replay derived are owed, the read model is to be replaced. */
  loaded(loaded: LoadedShard, startedAt: number): Promise<void>;
  /** Another owner wrote the step planned for `job`: this view is stale and is dropped. */
  lostRace(entry: ShardLogDoc, job: string): void;
  /** An appended entry was applied: called in the same synchronous step, before anything can touch the state. */
  applied(state: ShardState, events: EventDoc[]): void;
  /**
   * Before a job is answered: what the state changed is out (an acked record is readable,
   * SPEC 9). `appended`: an entry was applied (its events are stored first); otherwise a
   * retried job's read-model write, which may still be owed.
   */
  beforeAnswer(appended: boolean): Promise<void>;
}

/**
 * The exactly-once commit of one shard (docs/pipeline.md): the owner's view is a state
 * built from the log, and an entry is planned against it, appended at the next step,
 * and only then applied. The log's unique step is the compare-and-set: losing it (another
 * owner wrote that step) means this view is stale, so it is dropped, reloaded and the
 * batch planned again; a record is charged by whichever entry reached the log first,
 * never twice. A fence is an empty entry that takes the next step so that no former owner
 * can write one from a view older than this owner's. Commits and reloads run one at a
 * time. No I/O of its own: the log is a ShardLogPort, the rest CommitEffects.
 */
export class CommitProtocol {
  private current: ShardState | null = null;
  private lock: Promise<void> = Promise.resolve();
  private lastAppendAt = 0;

  constructor(
    readonly shard: number,
    private readonly log: ShardLogPort,
    private readonly effects: CommitEffects,
    private readonly clock: () => number,
  ) {}

  /** The state as of the last entry this owner loaded or applied; null until loaded, or after losing the race. */
  get state(): ShardState | null {
    return this.current;
  }

  /** Loads the shard and publishes it; returns the ledger entries its previous owners left unfolded. */
  open(): Promise<FoldedEntry[]> {
    return this.exclusive(async () => {
      const loaded = await this.load();
      await this.effects.beforeAnswer(false);
      return loaded.snap.unfolded ?? [];
    });
  }

  /**
   * Appends the entry `plan` makes, re-planned after each lost race, at most MAX_CONFLICTS
   * times. A plan with nothing new (all redelivered, or refused before) writes no entry
   * and gives the same answer, unless `always` (a fence).
   */
  commit(job: string, plan: Plan, always = false): Promise<CommitResult> {
    return this.exclusive(() => this.commitAlone(job, plan, always));
  }

  /**
   * Appends an empty entry at the next step: if a former owner took it since this one
   * loaded, the fence loses the race, reloads (seeing that owner's entries) and fences again.
   */
  fence(): Promise<CommitResult> {
    return this.commit(`fence-${this.shard}`, (state, now) => ({ doc: state.planFence(now), charged: 0, duplicates: 0 }), true);
  }

  /** Milliseconds since this owner last appended to the log (a fence counts). */
  idleFor(): number {
    return this.clock() - this.lastAppendAt;
  }

  /** Forgets the state (lease lost): the next commit, by whichever owner, starts from the store. */
  drop(): void {
    this.current = null;
  }

  /** Runs `fn` alone: a commit must not fold its entry into a state a reload is about to replace. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async load(): Promise<LoadedShard> {
    const startedAt = this.clock();
    const loaded = await this.log.load(startedAt);
    this.current = loaded.state;
    await this.effects.loaded(loaded, startedAt);
    return loaded;
  }

  private async commitAlone(job: string, plan: Plan, always: boolean): Promise<CommitResult> {
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
      // Inside the lock: a reload here leaves its sweep to the next tick or takeover.
      const state = this.current ?? (await this.load()).state;
      const planned = plan(state, this.clock());
      const refused = planned.refused?.length ? { refused: planned.refused } : {};
      if (!always && planned.charged === 0 && planned.duplicates === 0 && planned.doc.folds.length === 0 && !planned.doc.refused?.length) {
        await this.effects.beforeAnswer(false);
        return { seq: null, charged: 0, duplicates: 0, ...refused };
      }
      if ((await this.log.append(planned.doc)) === 'conflict') {
        this.effects.lostRace(planned.doc, job);
        this.current = null;
        continue;
      }
      this.lastAppendAt = this.clock();
      this.effects.applied(state, state.apply(planned.doc));
      await this.effects.beforeAnswer(true);
      return { seq: planned.doc.seq, charged: planned.charged, duplicates: planned.duplicates, ...refused };
    }
    throw new Error(`shard ${this.shard}: lost the log race ${MAX_CONFLICTS} times`);
  }
}
