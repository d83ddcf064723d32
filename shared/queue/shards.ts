/**
 * Stable account -> shard mapping (FNV-1a 32-bit over the UTF-8 bytes). Every process
 * must agree on it forever for a given shard count, so it is spelled out here rather
 * than borrowed from a library whose hash might change.
 */
export function shardOf(accountId: string, shards: number): number {
  let hash = 0x811c9dc5;
  const bytes = Buffer.from(accountId, 'utf8');
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

/** BullMQ queue that carries the shard's jobs. One owner consumes it at a time. */
export function shardQueueName(shard: number): string {
  return `tally-shard-${shard}`;
}
