import type { EventDoc, ShardLogDoc, ShardSnapshot } from '../../../shared/domain/index.js';
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
