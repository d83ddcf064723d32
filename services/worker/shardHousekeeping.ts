import type { Logger } from 'pino';
import type { ShardHousekeepingPort } from './core/ports.js';
import type { ShardState, ProjectionWrite } from './core/shardState.js';

/** Projection writes taken from an owner, written by whoever flushes. */
export interface PendingWrite {
  state: ShardState;
  seq: number;
  /** The projection snapshot to write; null when no projection changed since the last one. */
  write: ProjectionWrite | null;
}

/** The owner's crossing events as housekeeping sees them (EventOutbox). */
export interface OutboxTurn {
  /** Events not stored yet: no projection may be written past them. */
  readonly blocking: boolean;
  store(): Promise<void>;
  publish(): Promise<void>;
}

export interface ShardHousekeepingDeps {
  store: ShardHousekeepingPort;
  outbox: OutboxTurn;
  /** The owner's current state (CommitProtocol.state). */
  state: () => ShardState | null;
  logger: Logger;
  dedupHorizonMs: number;
  /** How often a busy owner records a checkpoint (CHECKPOINT_INTERVAL_MS). */
  checkpointEveryMs: number;
  /** How often the ids of log entries past the dedup horizon are emptied (LOG_COMPACT_INTERVAL_MS). */
  compactEveryMs: number;
  clock: () => number;
}

/**
 * What an owner writes besides its log, none of which decides a balance: the projection
 * snapshots and the checkpoint (they only shorten the next takeover's replay), the expiry
 * of record ids past the dedup horizon, and the compaction of the log's old ids. Runs
 * beside the commit protocol, on the state it leaves.
 */
export class ShardHousekeeping {
  private flushing: Promise<void> | null = null;
  private writesInFlight = 0;
  private checkpointed = 0;
  private checkpointedAt = 0;
  /** Compaction scans the shard log: not at takeover (a busy moment), first an interval later. */
  private compactedAt: number;

  constructor(
    readonly shard: number,
    private readonly deps: ShardHousekeepingDeps,
  ) {
    this.compactedAt = deps.clock();
  }

  /**
   * The event outbox's turn in a flush: stores what failed to store before (projections
   * wait for it, see `takeWrite`), and publishes again what is stored but not yet on NATS.
   */
  async deliverEvents(final = false): Promise<void> {
    await this.deps.outbox.store().catch((err) => this.deps.logger.warn({ err, shard: this.shard }, 'crossing events not stored; projections wait'));
    const publishing = this.deps.outbox.publish();
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
    const started = this.deps.clock();
    try {
      await this.storeWrite(pending);
    } catch (err) {
      failure = err;
    }
    const { write } = pending;
    if (write && !failure)
      this.deps.logger.debug(
        { shard: this.shard, seq: write.seq, accounts: write.count, chunks: write.chunks.length, writeMs: this.deps.clock() - started, final },
        'projections flushed',
      );
    await this.afterWrite(pending, failure, final);
    if (failure) throw failure;
  }

  /** Takes the shard's projections as a snapshot when any changed since the last (`storeWrite` writes it). */
  takeWrite(): PendingWrite | null {
    const state = this.deps.state();
    // A projection written past an entry whose events are not stored would leave them to nobody.
    if (!state || this.deps.outbox.blocking) return null;
    this.writesInFlight++;
    return { state, seq: state.seq, write: state.takeProjections() };
  }

  /** Writes a taken projection snapshot (a chunk or a few and a manifest). */
  async storeWrite(pending: PendingWrite): Promise<void> {
    if (pending.write) await this.deps.store.writeProjections(pending.write, new Date(this.deps.clock()));
  }

  /**
   * Completes a write from `takeWrite`: hands it back on failure; otherwise records the
   * checkpoint when due, forgets the record ids past the dedup horizon, and compacts the
   * log's when due. Not for a state the owner has since replaced (reloaded or dropped).
   */
  async afterWrite(pending: PendingWrite, failure: unknown, final = false): Promise<void> {
    this.writesInFlight--;
    if (failure) return this.handBack(pending);
    if (pending.state !== this.deps.state()) return;
    await this.recordCheckpointIfDue(pending, final);
    const horizon = this.deps.clock() - this.deps.dedupHorizonMs;
    pending.state.expireIds(horizon);
    await this.compactIfDue(horizon);
  }

  /** A snapshot not written: the next flush takes one again. */
  private handBack({ state, write }: PendingWrite): void {
    if (write) state.projectionsUnwritten();
  }

  /**
   * The store holds every projection through `seq` when this write was a snapshot at
   * `seq`, or when nothing changed since the last one and no other write is under way.
   * The checkpoint only shortens the next takeover's replay: at most every few seconds,
   * and whenever `final` (a handover).
   */
  private async recordCheckpointIfDue({ state, seq, write }: PendingWrite, final: boolean): Promise<void> {
    const complete = write !== null || (!state.hasUnwritten() && this.writesInFlight === 0);
    if (!complete || seq <= this.checkpointed) return;
    if (!final && this.deps.clock() - this.checkpointedAt < this.deps.checkpointEveryMs) return;
    this.checkpointedAt = this.deps.clock();
    await this.deps.store.writeCheckpoint(seq);
    this.checkpointed = seq;
  }

  /** Empties the ids of log entries past the dedup horizon, every `compactEveryMs`. */
  private async compactIfDue(horizon: number): Promise<void> {
    if (this.deps.clock() - this.compactedAt < this.deps.compactEveryMs) return;
    this.compactedAt = this.deps.clock();
    const n = await this.deps.store.compact(new Date(horizon));
    if (n > 0) this.deps.logger.info({ shard: this.shard, entries: n }, 'compacted shard log ids past the dedup horizon');
  }
}
