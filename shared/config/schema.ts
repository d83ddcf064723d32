import { z } from 'zod';
import {
  DEFAULT_LADDER,
  DEFAULT_PLANS,
  DEFAULT_PRICE_BOOK,
  parseLadder,
  parsePlans,
  parsePriceBook,
  type Ladder,
  type Plan,
  type PriceBook,
} from '../domain/index.js';
import { EngineUrlError, checkMongoUrl, parseNatsServers, parseRedisUrl } from './engineUrls.js';

const HOUR_MS = 3_600_000;
const GIB = 2 ** 30;
/** A stream's byte limit: at least one message of the largest size a stream takes (64 KiB). */
const streamBytes = (dflt: number) => int(64 * 1024, Number.MAX_SAFE_INTEGER).default(dflt);

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = (schemes: readonly string[]) =>
  z
    .string()
    .refine((v) => URL.canParse(v), 'must be a URL')
    .refine((v) => schemes.some((s) => v.startsWith(`${s}://`)), `must start with ${schemes.join(':// or ')}://`);

/** A value one of the engine URL parsers accepts; its message names what is wrong. */
const engineUrl = (parse: (value: string) => unknown) =>
  z.string().superRefine((value, ctx) => {
    try {
      parse(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof EngineUrlError ? err.message : 'is not valid' });
    }
  });

/** A file the process reads when it connects (credentials, keys, certificates). */
const path = z.string().min(1);

const json = <T>(name: string, parse: (value: unknown) => T) =>
  z.string().transform((raw, ctx): T => {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
      return z.NEVER;
    }
    try {
      return parse(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : `invalid ${name}` });
      return z.NEVER;
    }
  });

/**
 * Every variable of SPEC section 12 plus the pipeline's own knobs. Names are the
 * environment's; each has its default here and in the README's config table.
 */
export const envSchema = z.object({
  /** One server or a comma-separated list (a cluster's seed servers); user:password@ or token@ in the URLs. */
  NATS_URL: engineUrl(parseNatsServers).optional(),
  NATS_CREDS: path.optional(),
  NATS_NKEY_SEED: path.optional(),
  NATS_TLS_CA: path.optional(),
  NATS_TLS_CERT: path.optional(),
  NATS_TLS_KEY: path.optional(),
  /** `num_replicas` of every stream: 3 on a 3-node JetStream cluster. */
  NATS_STREAM_REPLICAS: int(1, 5).default(1),
  /** redis(s)://, redis(s)+sentinel://h1,h2/master[/db] or redis(s)+cluster://h1,h2 (shared/config/engineUrls.ts). */
  REDIS_URL: engineUrl(parseRedisUrl).optional(),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  MONGO_URL: engineUrl(checkMongoUrl).optional(),
  MONGO_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be 1..63 of [A-Za-z0-9_-]').default('tally'),
  DATA_DIR: z.string().min(1).default('.tally'),
  PRICE_BOOK_JSON: json('price book', parsePriceBook).optional(),
  PLANS_JSON: json('plans', parsePlans).optional(),
  LADDER_JSON: json('ladder', parseLadder).optional(),
  LADDER_TICK_INTERVAL_MS: int(1000, 2 ** 31 - 1).default(24 * HOUR_MS),
  LOW_BALANCE_MICROS: z.coerce
    .bigint({ message: 'must be an integer number of micros' })
    .refine((v) => v >= 0n, 'must be >= 0')
    .default(1_000_000n),
  LATE_ARRIVAL_DAYS: int(1, 3650).default(35),
  DEDUP_HORIZON_HOURS: int(1, 24 * 90).default(24),
  SHARDS: int(1, 1024).default(16),
  /** Readers use the Redis read model: the store's projections are a takeover snapshot, written this often. */
  PROJECTION_FLUSH_MS: int(100, 600_000).default(30_000),
  /** A shard owner snapshots its dedup horizon at most this often (sooner once 1/16 of its keys are new): what a takeover restores. */
  HORIZON_SNAPSHOT_MS: int(1000, 86_400_000).default(600_000),
  WORKER_LEASE_TTL_MS: int(1000, 600_000).default(15_000),
  /** A shard quiet this long is fenced by its owner (a former owner may have appended since it loaded). */
  WORKER_IDLE_FENCE_MS: int(1000, 86_400_000).default(60_000),
  /** A lost shard's consumer is waited for this long before the worker moves on (its job may hang on a gone Redis). */
  WORKER_CLOSE_WAIT_MS: int(100, 600_000).default(5000),
  /** A busy owner records its checkpoint at most this often (and at every handover). */
  CHECKPOINT_INTERVAL_MS: int(100, 86_400_000).default(10_000),
  /** An owner empties the record ids of log entries past the dedup horizon this often. */
  LOG_COMPACT_INTERVAL_MS: int(1000, 86_400_000).default(3_600_000),
  BRIDGE_BATCH_SIZE: int(1, 10_000).default(1000),
  BRIDGE_LINGER_MS: int(1, 10_000).default(250),
  BRIDGE_MAX_IN_FLIGHT: int(100, 10_000_000).default(100_000),
  NATS_ACK_WAIT_MS: int(1000, 3_600_000).default(60_000),
  NATS_DUPLICATE_WINDOW_MS: int(1000, 86_400_000).default(120_000),
  USAGE_MAX_BYTES: streamBytes(8 * GIB),
  DLQ_MAX_BYTES: streamBytes(GIB),
  EVENTS_MAX_BYTES: streamBytes(GIB),
  KYC_REQUIRED: bool.default(false),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** The address the API (and METRICS_PORT's listener) binds: loopback unless told otherwise. */
  HTTP_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.:-]+$/, 'must be a host name or an IP address, such as 0.0.0.0 to listen on every interface')
    .default('127.0.0.1'),
  HTTP_PORT: int(0, 65535).default(8080),
  /** `tally worker` / `tally bridge` serve /metrics on this port when set (the API serves its own on HTTP_PORT). */
  METRICS_PORT: int(0, 65535).optional(),
  STATS_CACHE_MS: int(100, 60_000).default(1000),
  LEDGER_CACHE_MS: int(0, 60_000).default(1000),
  RATE_LIMIT_KEY_PER_MINUTE: int(1, 1_000_000).default(300),
  RATE_LIMIT_IP_PER_MINUTE: int(1, 1_000_000).default(1200),
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: int(1, 1_000_000).default(10),
  RATE_LIMIT_PAUSE_MS: int(0, 60_000).default(1000),
  ACCOUNT_SESSION_HOURS: int(1, 24 * 30).default(12),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `auto`: one readable line per log entry when stderr is a terminal, JSON lines otherwise (pipes, files, CI). */
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
});

export type LogFormat = z.output<typeof envSchema>['LOG_FORMAT'];

/** NATS credentials and TLS material, as file paths read at connect time (shared/bus/connect.ts). */
export interface NatsSecurityFiles {
  credsFile?: string | undefined;
  nkeySeedFile?: string | undefined;
  tlsCaFile?: string | undefined;
  tlsCertFile?: string | undefined;
  tlsKeyFile?: string | undefined;
}

export interface Config {
  natsUrl: string | undefined;
  natsSecurity: NatsSecurityFiles;
  natsStreamReplicas: number;
  redisUrl: string | undefined;
  /** Sent to the sentinels of a `redis+sentinel://` REDIS_URL (the URL's password is the master's). */
  redisSentinelPassword: string | undefined;
  mongoUrl: string | undefined;
  mongoDb: string;
  dataDir: string;
  priceBook: PriceBook;
  plans: readonly Plan[];
  ladder: Ladder;
  ladderTickIntervalMs: number;
  lowBalanceMicros: bigint;
  lateArrivalDays: number;
  dedupHorizonHours: number;
  shards: number;
  projectionFlushMs: number;
  horizonSnapshotMs: number;
  workerLeaseTtlMs: number;
  workerIdleFenceMs: number;
  workerCloseWaitMs: number;
  checkpointIntervalMs: number;
  logCompactIntervalMs: number;
  bridgeBatchSize: number;
  bridgeLingerMs: number;
  bridgeMaxInFlight: number;
  natsAckWaitMs: number;
  natsDuplicateWindowMs: number;
  /** Bytes the usage stream holds at most; past it JetStream refuses publishes (the producer retries later). */
  usageMaxBytes: number;
  /** Bytes the dead-letter stream holds at most; past it the oldest dead letters go. */
  dlqMaxBytes: number;
  /** Bytes the billing-events stream holds at most; past it the oldest events go (the events collection keeps them). */
  eventsMaxBytes: number;
  kycRequired: boolean;
  adminToken: string | undefined;
  webhookSecret: string | undefined;
  httpHost: string;
  httpPort: number;
  metricsPort: number | undefined;
  logLevel: string;
  /** How log lines look: `auto` is `pretty` when stderr is a terminal, else `json`. */
  logFormat: LogFormat;
  /** GET /v1/stats (open to anyone) reads the pipeline's counts at most once per this many ms. */
  statsCacheMs: number;
  /** A ledger page (account, limit, cursor) is read at most once per this many ms; 0 reads every request. */
  ledgerCacheMs: number;
  /** Account and webhook routes: requests per minute per account key (after authentication). */
  rateLimitKeyPerMinute: number;
  /** Account and webhook routes and the account page: requests per minute per client IP (before authentication). */
  rateLimitIpPerMinute: number;
  /** Refused sign-ins (admin token, account key, sign-in forms) per minute per client IP; past it every sign-in from the IP is 429. */
  rateLimitAuthFailuresPerMinute: number;
  /** A refused request's 429 is answered after this long (at most the rest of its window). */
  rateLimitPauseMs: number;
  /** How long an account page session lasts. */
  accountSessionHours: number;
}

export type Env = z.input<typeof envSchema>;

export function toConfig(env: z.output<typeof envSchema>): Config {
  return {
    natsUrl: env.NATS_URL,
    natsSecurity: {
      credsFile: env.NATS_CREDS,
      nkeySeedFile: env.NATS_NKEY_SEED,
      tlsCaFile: env.NATS_TLS_CA,
      tlsCertFile: env.NATS_TLS_CERT,
      tlsKeyFile: env.NATS_TLS_KEY,
    },
    natsStreamReplicas: env.NATS_STREAM_REPLICAS,
    redisUrl: env.REDIS_URL,
    redisSentinelPassword: env.REDIS_SENTINEL_PASSWORD,
    mongoUrl: env.MONGO_URL,
    mongoDb: env.MONGO_DB,
    dataDir: env.DATA_DIR,
    priceBook: env.PRICE_BOOK_JSON ?? DEFAULT_PRICE_BOOK,
    plans: env.PLANS_JSON ?? DEFAULT_PLANS,
    ladder: env.LADDER_JSON ?? DEFAULT_LADDER,
    ladderTickIntervalMs: env.LADDER_TICK_INTERVAL_MS,
    lowBalanceMicros: env.LOW_BALANCE_MICROS,
    lateArrivalDays: env.LATE_ARRIVAL_DAYS,
    dedupHorizonHours: env.DEDUP_HORIZON_HOURS,
    shards: env.SHARDS,
    projectionFlushMs: env.PROJECTION_FLUSH_MS,
    horizonSnapshotMs: env.HORIZON_SNAPSHOT_MS,
    workerLeaseTtlMs: env.WORKER_LEASE_TTL_MS,
    workerIdleFenceMs: env.WORKER_IDLE_FENCE_MS,
    workerCloseWaitMs: env.WORKER_CLOSE_WAIT_MS,
    checkpointIntervalMs: env.CHECKPOINT_INTERVAL_MS,
    logCompactIntervalMs: env.LOG_COMPACT_INTERVAL_MS,
    bridgeBatchSize: env.BRIDGE_BATCH_SIZE,
    bridgeLingerMs: env.BRIDGE_LINGER_MS,
    bridgeMaxInFlight: env.BRIDGE_MAX_IN_FLIGHT,
    natsAckWaitMs: env.NATS_ACK_WAIT_MS,
    natsDuplicateWindowMs: env.NATS_DUPLICATE_WINDOW_MS,
    usageMaxBytes: env.USAGE_MAX_BYTES,
    dlqMaxBytes: env.DLQ_MAX_BYTES,
    eventsMaxBytes: env.EVENTS_MAX_BYTES,
    kycRequired: env.KYC_REQUIRED,
    adminToken: env.ADMIN_TOKEN,
    webhookSecret: env.WEBHOOK_SECRET,
    httpHost: env.HTTP_HOST,
    httpPort: env.HTTP_PORT,
    metricsPort: env.METRICS_PORT,
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
    statsCacheMs: env.STATS_CACHE_MS,
    ledgerCacheMs: env.LEDGER_CACHE_MS,
    rateLimitKeyPerMinute: env.RATE_LIMIT_KEY_PER_MINUTE,
    rateLimitIpPerMinute: env.RATE_LIMIT_IP_PER_MINUTE,
    rateLimitAuthFailuresPerMinute: env.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
    rateLimitPauseMs: env.RATE_LIMIT_PAUSE_MS,
    accountSessionHours: env.ACCOUNT_SESSION_HOURS,
  };
}
