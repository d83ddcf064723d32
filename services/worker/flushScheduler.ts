import type { Logger } from 'pino';
import type { ShardOwner } from './shardOwner.js';

export interface FlushSchedulerDeps {
  logger: Logger;
  /** A shard quiet this long is fenced before its flush (WORKER_IDLE_FENCE_MS). */
  idleFenceMs: number;
  clock: () => number;
}

/**
 * The worker's periodic flush of the shards it holds, one run at a time: every owner's
 * housekeeping flush (events, projection snapshot, checkpoint), one shard after the other
 * (a snapshot is the whole shard encoded, so only one is held at once). Every
 * `idleFenceMs`, owners of shards quiet since fence first: a former owner may have
 * appended after they loaded, and a quiet shard has no next append to find out.
 */
export class FlushScheduler {
  private running: Promise<void> | null = null;
  private idleCheckedAt: number;

  constructor(private readonly deps: FlushSchedulerDeps) {
    this.idleCheckedAt = deps.clock();
  }

  /** Flushes `owners` once the run in progress, if any, has ended. `final`: a handover (no fences, events published before it returns). */
  async flush(owners: readonly ShardOwner[], final = false): Promise<void> {
    while (this.running) await this.running;
    this.running = this.flushAll(owners, final).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async flushAll(owners: readonly ShardOwner[], final: boolean): Promise<void> {
    const { logger, clock, idleFenceMs } = this.deps;
    const now = clock();
    if (!final && owners.length > 0 && now - this.idleCheckedAt >= idleFenceMs) {
      this.idleCheckedAt = now;
      for (const owner of owners) {
        if (owner.protocol.idleFor() >= idleFenceMs) await owner.catchUp().catch((err) => logger.error({ err, shard: owner.shard }, 'catch-up failed'));
      }
    }
    for (const owner of owners) {
      await owner.housekeeping.flush(final).catch((err) => logger.error({ err, shard: owner.shard }, 'projection snapshot or checkpoint not written'));
    }
    if (owners.length > 0) logger.debug({ shards: owners.length, ms: clock() - now, final }, 'flush done');
  }
}
