export { shardOf, shardQueueName } from './shards.js';
export { redisConnection } from './connection.js';
export type { WireRecord, UsageBatchJob, FoldJob, TickJob, ShardJob, ShardJobResult } from './jobs.js';
