import type {
  AccountDoc,
  EventDoc,
  FoldedEntry,
  LogTotals,
  ModelPosition,
  ShardLogDoc,
  ShardSnapshot,
  TierTransitionDoc,
} from '../../../shared/domain/index.js';
import type { ProjectionWrite, ShardState } from './shardState.js';

/**
 * What a shard owner needs from the store, apart from how it is stored (mongoShardStore.ts
 * implements both over MongoDB; the unit tests, in memory). The commit protocol reads and
 * appends the shard log; housekeeping writes what only shortens the next takeover.
 */

/** A shard's state built from the store (ShardState.fromSnapshot over what the store read). */
export interface LoadedShard {
  state: ShardState;
  /** Crossing events the replay of the log tail derived (the outbox stores them). */
  events: EventDoc[];
  snap: ShardSnapshot;
  /** The log position of the snapshot the horizon was restored from; null when the log alone built it. */
  restoredSeq: number | null;
}

/** The shard log, as the commit protocol uses it. */
export interface ShardLogPort {
  /**
   * The shard's state built from the store (at a takeover, or after losing the log race),
   * with records charged since `now` minus the dedup horizon.
   */
  load(now: number): Promise<LoadedShard>;
  /** Appends one entry if its step is free: `conflict` when another owner wrote that step. */
  append(entry: ShardLogDoc): Promise<'ok' | 'conflict'>;
}

/** The projection snapshots, checkpoints and compaction, as housekeeping uses them. */
export interface ShardHousekeepingPort {
  writeProjections(write: ProjectionWrite, at: Date): Promise<void>;
  /** Records that every projection is folded through `seq` (only forward). */
  writeCheckpoint(seq: number): Promise<void>;
  /** Empties the record ids of entries older than `before`; returns how many. */
  compact(before: Date): Promise<number>;
}

/** The ledger entries, allocations and tier history beside the log, as the owner uses them. */
export interface ShardLedgerPort {
  /** The shard's ledger entries and allocations not folded yet, leaving out those in `folded`. */
  unfolded(folded: ReadonlySet<string>): Promise<FoldedEntry[]>;
  /** Records tiers reached (deterministic ids: a repeat adds nothing). */
  recordTransitions(docs: readonly TierTransitionDoc[]): Promise<void>;
  /** Marks expired the allocations of plans ended by `now`; returns how many. */
  expireAllocations(now: number): Promise<number>;
}

/** The crossing events on their way out (EventOutbox), as the owner uses them. */
export interface OwnerOutbox {
  /** Events not stored yet: no projection may be written past them. */
  readonly blocking: boolean;
  /** New events, from a log entry just applied or replayed. */
  add(events: readonly EventDoc[]): void;
  /** Takes on the events a former owner stored but never marked published. */
  adoptUnpublished(): Promise<void>;
  /** Stores what is new, then publishes in the background; never rejects. */
  deliver(): Promise<void>;
  /** Stores what is new; rejects (keeping it) on failure. */
  store(): Promise<void>;
  /** Publishes what is stored; never rejects. */
  publish(): Promise<void>;
}

/** A read-model write's outcome (shared/readModel): `lost` when Redis emptied during a full write. */
export type ReadModelOutcome = 'written' | 'stale' | 'not_loaded' | 'lost';

/** The accounts' read model (Redis), as the owner writes it before answering a job. */
export interface ReadModelPort {
  /** Replaces the shard's whole model. */
  replace(shard: number, at: ModelPosition, docs: Iterable<AccountDoc>): Promise<ReadModelOutcome>;
  /** Writes the accounts given; `not_loaded` when the shard's model is missing. */
  write(shard: number, at: ModelPosition, docs: readonly AccountDoc[]): Promise<ReadModelOutcome>;
}

/** The horizon's snapshots (HorizonSnapshots), as the owner triggers them. */
export interface HorizonSnapshotPort {
  /** Right after an entry was applied, in the same synchronous step: snapshots the horizon when due. */
  afterApply(state: ShardState): void;
  /** Resolves once a snapshot being written, if any, is stored or given up. */
  settled(): Promise<void>;
}
