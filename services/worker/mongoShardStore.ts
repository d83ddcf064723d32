import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { JetStreamClient } from '@nats-io/jetstream';
import { failpoint } from '../../shared/runtime/index.js';
import {
  appendShardLog,
  compactShardLog,
  expireAllocations,
  insertTierTransitions,
  unfoldedEntries,
  writeCheckpoint,
  writeProjectionSnapshot,
  type ShardLogDoc,
} from '../../shared/store/index.js';
import { EventOutbox } from './eventOutbox.js';
import { HorizonSnapshots } from './horizonSnapshots.js';
import { ShardOwner } from './shardOwner.js';
import type { ReadModelPort } from './core/ports.js';
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

  constructor(
    readonly shard: number,
    private readonly deps: MongoShardStoreDeps,
  ) {}

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

/** Documents an owner wrote (inserted or updated), for the benchmark's docs-per-record figure. */
export interface OwnerWrites {
  log: number;
  projections: number;
  checkpoints: number;
  events: number;
}

export interface MongoShardOwnerDeps {
  db: Db;
  js: JetStreamClient;
  logger: Logger;
  pricing: PricingContext;
  dedupHorizonMs: number;
  /** HORIZON_SNAPSHOT_MS. */
  horizonSnapshotMs: number;
  checkpointEveryMs: number;
  compactEveryMs: number;
  readModel: ReadModelPort;
  clock: () => number;
}

/** A shard owner wired to the store (MongoDB), crossing events to NATS, and the read model; with the count of what it wrote. */
export function mongoShardOwner(shard: number, deps: MongoShardOwnerDeps): { owner: ShardOwner; writes: () => OwnerWrites } {
  const { db, logger, clock } = deps;
  const outbox = new EventOutbox({ shard, db, js: deps.js, logger, clock });
  const snapshots = new HorizonSnapshots(shard, { db, logger, intervalMs: deps.horizonSnapshotMs, clock });
  const store = new MongoShardStore(shard, { db, logger, pricing: deps.pricing, dedupHorizonMs: deps.dedupHorizonMs, snapshots });
  const ledger = {
    unfolded: (folded: ReadonlySet<string>) => unfoldedEntries(db, shard, folded),
    recordTransitions: async (docs: Parameters<typeof insertTierTransitions>[1]) => void (await insertTierTransitions(db, docs)),
    expireAllocations: (now: number) => expireAllocations(db, shard, now),
  };
  const owner = new ShardOwner(shard, {
    log: store,
    store,
    ledger,
    outbox,
    snapshots,
    readModel: deps.readModel,
    logger,
    ladder: deps.pricing.ladder,
    dedupHorizonMs: deps.dedupHorizonMs,
    checkpointEveryMs: deps.checkpointEveryMs,
    compactEveryMs: deps.compactEveryMs,
    clock,
  });
  return { owner, writes: () => ({ ...store.written, events: outbox.stored }) };
}
