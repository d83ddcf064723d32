import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { PipelineStats } from '../../shared/bus/index.js';
import type { ShardQueues } from '../../shared/queue/index.js';
import type { Credentials } from './auth.js';
import type { BillingService } from './billing.js';

/** What the routes share: built once by buildApi. */
export interface ApiContext {
  billing: BillingService;
  db: Db;
  queues: ShardQueues;
  credentials: Credentials;
  logger: Logger;
  clock: () => number;
  stats: () => Promise<PipelineStats>;
  /** Resolves when the store and Redis answer; rejects otherwise. */
  ready: () => Promise<void>;
  /** How long POST /v1/admin/ladder-tick waits for the shard owners. */
  tickTimeoutMs: number;
}
