import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import { loadShard } from '../../shared/store/index.js';
import type { HorizonSnapshots } from './horizonSnapshots.js';
import type { LoadedShard } from './core/ports.js';
import { ShardState, type PricingContext } from './core/shardState.js';

export interface TakeoverDeps {
  db: Db;
  logger: Logger;
  pricing: PricingContext;
  /** Where the horizon's snapshots are; null reads the horizon from the log alone. */
  snapshots: HorizonSnapshots | null;
}

/**
 * Builds a shard's state from the store: at a takeover, or after losing the log race. The
 * dedup horizon comes from the newest snapshot plus the records of the log entries after
 * it, both read at once; without a usable snapshot, from every entry inside the horizon.
 * Either way the state gives the same answer for every record: a snapshot through position
 * S holds what the log's entries 1..S put in the horizon, and keys older than the horizon
 * are dropped here, as a read of the log would not have loaded them.
 */
export async function loadShardState(deps: TakeoverDeps, shard: number, idsSince: number): Promise<LoadedShard> {
  const { db, snapshots } = deps;
  const since = new Date(idsSince);
  const manifest = snapshots ? await snapshots.newest() : null;
  let [records, snap] = await Promise.all([
    manifest && snapshots ? snapshots.restore(manifest) : null,
    loadShard(db, shard, since, manifest ? { recordsAfter: manifest.seq } : {}),
  ]);
  if (manifest && records && manifest.seq > snap.seq) {
    // Only a log that lost entries (restored from an older backup, say) is behind its own cache.
    deps.logger.warn({ shard, snapshot: manifest.seq, log: snap.seq }, 'horizon snapshot is ahead of the shard log; reading the log');
    records = null;
  }
  if (manifest && !records) snap = await loadShard(db, shard, since);
  const restored = manifest && records ? manifest : null;
  const { state, events } = ShardState.fromSnapshot(shard, snap, deps.pricing, records ?? undefined);
  state.expireIds(idsSince);
  snapshots?.loaded(restored ? restored.at.getTime() : null);
  return { state, events, snap, restoredSeq: restored ? restored.seq : null };
}
