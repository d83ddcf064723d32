export { shardOf, shardQueueName } from './shards.js';
export { redisConnection } from './connection.js';
export type { WireRecord, UsageBatchJob, FoldJob, TickJob, ShardJob, ShardJobResult } from './jobs.js';
export type { TickCounts } from './jobs.js';
export { ShardQueues } from './shardQueues.js';
export { awaitJob, enqueueFold, foldJobId, waitForJob } from './folds.js';
export { jobOutcome } from './outcome.js';
export type { JobOutcome } from './outcome.js';
