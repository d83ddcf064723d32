import { deltasOf, horizonKeys, type AccountDoc, type FoldedEntry, type ShardLogDoc, type ShardSnapshot } from '../../../../shared/domain/index.js';
import type { LoadedShard, ShardLogPort } from '../../../../services/worker/core/ports.js';
import { ShardState, type PricingContext } from '../../../../services/worker/core/shardState.js';

/**
 * One shard's log in memory, as loadShard reads it from the store (a checkpoint with the
 * projections through it, the tail after it, the records inside the dedup horizon), shared
 * by the owners of a test: each gets its own port onto it (`port()`). Entries are copied in
 * and out, as a store would, so no owner's state shares an object with another's.
 */
export class MemoryShardLog {
  private readonly entries = new Map<number, ShardLogDoc>();
  private checkpoint: { seq: number; accounts: AccountDoc[] } = { seq: 0, accounts: [] };
  /** Calls to `append` through any port, conflicts included. */
  appends = 0;
  /** The ledger entries beside the log (payments, purchases): a load lists those not folded yet, as loadShard does. */
  readonly ledger: FoldedEntry[] = [];

  constructor(
    readonly shard: number,
    private readonly ctx: PricingContext,
    private readonly dedupHorizonMs: number,
  ) {}

  get seq(): number {
    return Math.max(0, ...this.entries.keys());
  }

  /** The entries in log order (copies). */
  list(): ShardLogDoc[] {
    return [...this.entries.keys()].sort((a, b) => a - b).map((seq) => structuredClone(this.entries.get(seq)!));
  }

  /** Records charged across the whole log, as sumShardLog counts them. */
  charged(): number {
    return this.list().reduce((n, e) => n + deltasOf(e).reduce((m, d) => m + d.n, 0), 0);
  }

  /** What a flush leaves behind: the projections through `seq` and a checkpoint there. */
  checkpointAt(seq: number): void {
    const { state } = ShardState.fromSnapshot(
      this.shard,
      snapshotOf(
        this.list().filter((e) => e.seq <= seq),
        0,
        [],
      ),
      this.ctx,
    );
    this.checkpoint = { seq, accounts: structuredClone([...state.accountDocs()]) };
  }

  /**
   * A port onto this log. `beforeAppend` runs before each of its appends: another owner
   * writing meanwhile (the race the protocol must lose gracefully).
   */
  port(beforeAppend: () => Promise<void> = async () => undefined): ShardLogPort & { loads: number } {
    const log = this;
    return {
      loads: 0,
      async load(now: number): Promise<LoadedShard> {
        this.loads++;
        return log.load(now);
      },
      async append(entry: ShardLogDoc): Promise<'ok' | 'conflict'> {
        await beforeAppend();
        return log.append(entry);
      },
    };
  }

  append(entry: ShardLogDoc): 'ok' | 'conflict' {
    this.appends++;
    // The store's unique _id (shard:seq): the step is taken or free.
    if (this.entries.has(entry.seq)) return 'conflict';
    this.entries.set(entry.seq, structuredClone(entry));
    return 'ok';
  }

  private load(now: number): LoadedShard {
    const idsSince = now - this.dedupHorizonMs;
    const entries = this.list();
    const { seq, accounts } = this.checkpoint;
    const folded = new Set(entries.flatMap((e) => e.folds.map((f) => f.id)));
    const snap: ShardSnapshot = {
      ...snapshotOf(
        entries.filter((e) => e.seq > seq),
        seq,
        structuredClone(accounts),
      ),
      seq: this.seq,
      horizon: entries.filter((e) => e.at.getTime() >= idsSince).map((e) => ({ at: e.at.getTime(), keys: horizonKeys(e) })),
      folded,
      refusedFolds: new Set(entries.flatMap((e) => e.folds.filter((f) => f.refused).map((f) => f.id))),
      totals: { charged: this.charged(), duplicates: entries.reduce((n, e) => n + e.duplicates, 0) },
      unfolded: this.ledger.filter((e) => !folded.has(e.id)),
    };
    const { state, events } = ShardState.fromSnapshot(this.shard, snap, this.ctx);
    state.expireIds(idsSince);
    return { state, events, snap, restoredSeq: null };
  }
}

/** A snapshot whose projections are `accounts` through `checkpoint`, with `tail` after it (and the tail's records as the horizon). */
function snapshotOf(tail: ShardLogDoc[], checkpoint: number, accounts: AccountDoc[]): ShardSnapshot {
  return { seq: tail.at(-1)?.seq ?? checkpoint, checkpoint, accounts, tail, horizon: tail.map((e) => ({ at: e.at.getTime(), keys: horizonKeys(e) })) };
}
