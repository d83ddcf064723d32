import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { PipelineStats } from '../../shared/app/index.js';
import type { ShardQueues } from '../../shared/queue/index.js';
import type { AccountReader } from '../../shared/readModel/index.js';
import type { Credentials } from './auth.js';
import type { ReadyChecks } from './operator/health.js';
import type { Ladder, Plan } from '../../shared/domain/index.js';
import type { BillingService } from './billing.js';
import type { KeyRing } from './keys/index.js';
import type { LedgerPages } from './ledger.js';
import type { RateLimits } from './rateLimit.js';
import type { SessionStore } from './account/session.js';

/** What the routes share: built once by buildApi. */
export interface ApiContext {
  billing: BillingService;
  /** Every account read: the read model, the store for a shard whose model is lost. */
  accounts: AccountReader;
  db: Db;
  queues: ShardQueues;
  credentials: Credentials;
  logger: Logger;
  clock: () => number;
  /** The pipeline's counts, at most STATS_CACHE_MS old. */
  stats: () => Promise<PipelineStats>;
  /** Resolves when the store and Redis answer; rejects otherwise. */
  ready: () => Promise<ReadyChecks | void>;
  /** How long POST /v1/admin/ladder-tick waits for the shard owners (LADDER_TICK_TIMEOUT_MS). */
  tickTimeoutMs: number;
  /** How long an operator's dashboard session lasts (OPERATOR_SESSION_HOURS). */
  operatorSessionMs: number;
  /** Account keys: create, revoke, verify (SPEC 13 "Who may call what"). */
  keys: KeyRing;
  limits: RateLimits;
  /** Ledger pages, cached for LEDGER_CACHE_MS. */
  ledger: LedgerPages;
  /** The account page's sign-in sessions. */
  sessions: SessionStore;
  /** The plan registry, for the account page's plan buttons. */
  plans: readonly Plan[];
  /** The discount ladder, for the account page's tier label and next tier. */
  ladder: Ladder;
  /** LATE_ARRIVAL_DAYS: how far back usage queries get hourly rows (parseUsageQuery). */
  lateArrivalDays: number;
}
