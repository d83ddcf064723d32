import type { Redis } from 'ioredis';

/**
 * How many accounts each shard owner has changed in memory but not yet written as
 * projections: the part of "settled" (SPEC 9) that JetStream cannot see. An owner writes
 * its figure before it reports a batch done (so an acked record is either projected or
 * counted here) and after every projection write. A Redis hash, one field per shard,
 * under the deployment's namespace.
 */
export const projectionLagKey = (namespace: string): string => `tally:${namespace}:projection-lag`;

/** Writes the figures of the shards given; one command, so they land together. */
export async function reportProjectionLag(redis: Redis, namespace: string, lags: ReadonlyMap<number, number>): Promise<void> {
  if (lags.size === 0) return;
  await redis.hset(projectionLagKey(namespace), Object.fromEntries([...lags].map(([shard, n]) => [String(shard), String(n)])));
}

export interface ProjectionLag {
  /** Accounts whose latest change is not in their stored projection yet. */
  accounts: number;
  /** Shards with no figure at all (Redis lost it, or no owner has ever run): each may lag. */
  unknownShards: number;
}

export async function readProjectionLag(redis: Redis, namespace: string, shards: number): Promise<ProjectionLag> {
  const fields = await redis.hgetall(projectionLagKey(namespace));
  let accounts = 0;
  let unknownShards = 0;
  for (let shard = 0; shard < shards; shard++) {
    const n = fields[String(shard)];
    if (n === undefined) unknownShards++;
    else accounts += Number(n);
  }
  return { accounts, unknownShards };
}
