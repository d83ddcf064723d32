/**
 * The application layer: what the product does by combining the adapters (shared/bus,
 * shared/queue, shared/store, shared/readModel, shared/runtime), which know nothing of
 * one another. The services call these; the adapters never import them.
 */
export { readPending, readPipelineStats, readSettledVersion } from './pipelineStats.js';
export type { PipelineStats, ProjectionLagReader } from './pipelineStats.js';
export { runLadderTick, tickIdFrom, tickReport } from './tickRunner.js';
export type { TickOptions, TickReport, TickRunnerDeps } from './tickRunner.js';
export { decodeFoldRequest, encodeFoldReply, FoldSignatureError, requestFold } from './foldRequests.js';
export type { FoldAnswer, FoldReply } from './foldRequests.js';
