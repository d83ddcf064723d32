/**
 * Every Redis key the product keeps, built here, so a Redis Cluster can hold them: a
 * script, transaction or BullMQ queue must touch keys of one hash slot, and Redis hashes
 * only the part between the first `{` and `}` when there is one (the hash tag).
 *
 * Every key starts with `tally:` and the deployment's namespace (MONGO_DB), so deployments
 * sharing a Redis stay apart:
 * - `redisKey(ns, ...parts)`: `tally:<ns>:<parts>`, a key used alone (no tag: such keys
 *   spread over the cluster by their whole name);
 * - `redisGroup(ns, ...unit)`: `tally:{<ns>:<unit>}`, the prefix of keys used together (one
 *   slot per unit: one per shard, so shards spread over the nodes).
 * `namespace` holds only [A-Za-z0-9_-] (the config's rule for MONGO_DB), never a brace.
 */
export const redisKey = (namespace: string, ...parts: (string | number)[]): string => ['tally', namespace, ...parts].join(':');

export const redisGroup = (namespace: string, ...unit: (string | number)[]): string => `tally:{${[namespace, ...unit].join(':')}}`;
