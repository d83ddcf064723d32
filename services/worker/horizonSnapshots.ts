import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import { findHorizonSnapshot, pruneHorizonSnapshots, readHorizonChunks, writeHorizonSnapshot, type HorizonManifestDoc } from '../../shared/store/index.js';
import { RecordHorizon } from './core/recordHorizon.js';
import { snapshotDue } from './core/snapshotPolicy.js';
import type { ShardState } from './core/shardState.js';

export interface HorizonSnapshotsDeps {
  db: Db;
  logger: Logger;
  /** HORIZON_SNAPSHOT_MS. */
  intervalMs: number;
  clock: () => number;
}

/**
 * One shard owner's snapshots of its dedup horizon (stored by shared/store/snapshots.ts): when
 * to take one, writing it in the background (one at a time), and reading the newest back
 * at takeover. A snapshot is a cache of the log: anything wrong with one (missing, pruned
 * while read, malformed) is logged and the takeover reads the log instead.
 */
export class HorizonSnapshots {
  private lastAt = -Infinity;
  private lastAdded = 0;
  private writing: Promise<void> | null = null;

  constructor(
    readonly shard: number,
    private readonly deps: HorizonSnapshotsDeps,
  ) {}

  /** After a load: `at` is when the restored snapshot was taken; null when the log alone built the horizon (the next commit then takes one). */
  loaded(at: number | null): void {
    this.lastAt = at ?? -Infinity;
    this.lastAdded = 0;
  }

  /**
   * Right after the owner applied an entry, in the same synchronous step: takes the
   * snapshot when due (serialize copies the horizon; 0.15 s at 5 M keys) and writes it in
   * the background. A failed write is logged; the next one is due an interval later.
   */
  afterApply(state: ShardState): void {
    if (this.writing) return;
    const now = this.deps.clock();
    if (!snapshotDue({ now, lastAt: this.lastAt, intervalMs: this.deps.intervalMs, added: state.idsAdded - this.lastAdded, size: state.idCount })) return;
    const started = performance.now();
    const snap = state.snapshotRecords();
    const serializeMs = Math.round(performance.now() - started);
    this.lastAt = now;
    this.lastAdded = state.idsAdded;
    this.writing = this.write(snap, now, serializeMs).finally(() => {
      this.writing = null;
    });
  }

  /** Resolves once the snapshot being written (if any) is stored or given up. */
  settled(): Promise<void> {
    return this.writing ?? Promise.resolve();
  }

  /** The manifest of the shard's newest snapshot, or null (none, or the read failed: logged). */
  async newest(): Promise<HorizonManifestDoc | null> {
    try {
      return await findHorizonSnapshot(this.deps.db, this.shard);
    } catch (err) {
      this.deps.logger.warn({ err, shard: this.shard }, 'horizon snapshots unreadable; reading the log');
      return null;
    }
  }

  /** The horizon a manifest names, or null when it cannot be restored (logged). */
  async restore(manifest: HorizonManifestDoc): Promise<RecordHorizon | null> {
    try {
      return RecordHorizon.restore(await readHorizonChunks(this.deps.db, manifest));
    } catch (err) {
      this.deps.logger.warn({ err, shard: this.shard, seq: manifest.seq }, 'horizon snapshot unusable; reading the log');
      return null;
    }
  }

  private async write(snap: { seq: number; keys: number; chunks: Buffer[] }, at: number, serializeMs: number): Promise<void> {
    const started = performance.now();
    const { db, logger } = this.deps;
    try {
      const { outcome, bytes } = await writeHorizonSnapshot(db, { shard: this.shard, seq: snap.seq, chunks: snap.chunks, keys: snap.keys, at: new Date(at) });
      const dropped = await pruneHorizonSnapshots(db, this.shard, snap.seq);
      logger.info(
        {
          shard: this.shard,
          seq: snap.seq,
          keys: snap.keys,
          bytes,
          chunks: snap.chunks.length,
          outcome,
          dropped,
          serializeMs,
          writeMs: Math.round(performance.now() - started),
        },
        'horizon snapshot written',
      );
    } catch (err) {
      logger.warn({ err, shard: this.shard, seq: snap.seq }, 'horizon snapshot not written; a takeover reads more of the log');
    }
  }
}
