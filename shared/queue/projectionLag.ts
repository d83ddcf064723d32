import type { Redis } from 'ioredis';

/**
 * How many accounts each shard owner has changed in memory but not yet written as
 * projections: the part of "settled" (SPEC 9) that JetStream cannot see. An owner writes
 * its figure before it reports a batch done (so an acked record is either projected or
 * counted here) and after every projection write. A Redis hash, one field per shard,
 * under the deployment's namespace.
 */
export const projectionLagKey = (namespace: string): string => `tally:${namespace}:projection-lag`;

/** One shard's figure: unprojected accounts, and the log position the owner has applied (`<lag>/<seq>` in the hash). */
export interface ShardLag {
  accounts: number;
  seq: number;
}

/** Writes the figures of the shards given; one command, so they land together. */
export async function reportProjectionLag(redis: Redis, namespace: string, lags: ReadonlyMap<number, ShardLag>): Promise<void> {
  if (lags.size === 0) return;
  await redis.hset(projectionLagKey(namespace), Object.fromEntries([...lags].map(([shard, l]) => [String(shard), `${l.accounts}/${l.seq}`])));
}

export interface ProjectionLag {
  /** Accounts whose latest change is not in their stored projection yet. */
  accounts: number;
  /** Shards with no figure at all (Redis lost it, or no owner has ever run): each may lag. */
  unknownShards: number;
  /** Every shard's figure and log position: changes whenever a stored projection may have changed (a cache's version). */
  version: string;
}

export async function readProjectionLag(redis: Redis, namespace: string, shards: number): Promise<ProjectionLag> {
  const fields = await redis.hgetall(projectionLagKey(namespace));
  let accounts = 0;
  let unknownShards = 0;
  const version: string[] = [];
  for (let shard = 0; shard < shards; shard++) {
    const field = fields[String(shard)] ?? '';
    const [lag, seq] = field.split('/');
    if (lag === undefined || lag === '' || seq === undefined) unknownShards++;
    else accounts += Number(lag);
    version.push(field);
  }
  return { accounts, unknownShards, version: version.join(',') };
}
