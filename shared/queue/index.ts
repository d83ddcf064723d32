export { shardOf, shardQueueName } from './shards.js';
export { redisConnection } from './connection.js';
export type { WireRecord, UsageBatchJob, FoldJob, TickJob, ShardJob, ShardJobResult } from './jobs.js';
export type { TickCounts } from './jobs.js';
export { ShardQueues } from './shardQueues.js';
export { enqueueFold, foldJobId, waitForJob } from './folds.js';
export type { JobOutcome } from './folds.js';
export { runLadderTick, tickIdFrom, tickReport } from './tickRunner.js';
export type { TickOptions, TickReport, TickRunnerDeps } from './tickRunner.js';
