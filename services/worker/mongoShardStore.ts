import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import { failpoint } from '../../shared/runtime/index.js';
import { appendShardLog, compactShardLog, writeCheckpoint, writeProjectionSnapshot, type ShardLogDoc } from '../../shared/store/index.js';
import type { HorizonSnapshots } from './horizonSnapshots.js';
import type { LoadedShard, ShardHousekeepingPort, ShardLogPort } from './core/ports.js';
import type { PricingContext, ProjectionWrite } from './core/shardState.js';
import { loadShardState } from './takeover.js';

export interface MongoShardStoreDeps {
  db: Db;
  logger: Logger;
  pricing: PricingContext;
  dedupHorizonMs: number;
  snapshots: HorizonSnapshots;
}

/** One shard's log, projections and checkpoint in MongoDB (FerretDB), counting the documents it writes. */
export class MongoShardStore implements ShardLogPort, ShardHousekeepingPort {
  /** Documents written (inserted or updated), for the benchmark's docs-per-record figure. */
  readonly written = { log: 0, projections: 0, checkpoints: 0 };

  constructor(readonly shard: number, private readonly deps: MongoShardStoreDeps) {}

  load(now: number): Promise<LoadedShard> {
    const { db, logger, pricing, snapshots } = this.deps;
    return loadShardState({ db, logger, pricing, snapshots }, this.shard, now - this.deps.dedupHorizonMs);
  }

  async append(entry: ShardLogDoc): Promise<'ok' | 'conflict'> {
    const outcome = await appendShardLog(this.deps.db, entry);
    this.written.log++;
    if (outcome === 'ok') failpoint('worker.after-log-append');
    return outcome;
  }

  async writeProjections(write: ProjectionWrite, at: Date): Promise<void> {
    await writeProjectionSnapshot(this.deps.db, this.shard, write.seq, write, at);
    this.written.projections += write.chunks.length + 1;
  }

  async writeCheckpoint(seq: number): Promise<void> {
    await writeCheckpoint(this.deps.db, this.shard, seq);
    this.written.checkpoints++;
  }

  compact(before: Date): Promise<number> {
    return compactShardLog(this.deps.db, this.shard, before);
  }
}
