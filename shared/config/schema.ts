import { z } from 'zod';
import { DEFAULT_LADDER, DEFAULT_PLANS, DEFAULT_PRICE_BOOK, parseLadder, parsePlans, parsePriceBook } from '../domain/index.js';
import { EngineUrlError, checkMongoUrl, parseNatsServers, parseRedisUrl } from './engineUrls.js';
import { secret, trustProxy, withSecret } from './secrets.js';

const HOUR_MS = 3_600_000;
const GIB = 2 ** 30;
/** A stream's byte limit: at least one message of the largest size a stream takes (64 KiB). */
const streamBytes = (dflt: number) => int(64 * 1024, Number.MAX_SAFE_INTEGER).default(dflt);

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' }).transform((v) => v === 'true' || v === '1' || v === 'yes');

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
 * environment's; each default is written here only (the README's configuration table
 * quotes them, test/unit/config/readmeTable.test.ts keeps it honest). A variable's key
 * in `Config` is its name in camel case, without a `_JSON` suffix (`configKey`).
 */
export const envSchema = z.object({
  /** One server or a comma-separated list (a cluster's seed servers); user:password@ or token@ in the URLs. */
  NATS_URL: withSecret(engineUrl(parseNatsServers)).optional(),
  NATS_CREDS: path.optional(),
  NATS_NKEY_SEED: path.optional(),
  NATS_TLS_CA: path.optional(),
  NATS_TLS_CERT: path.optional(),
  NATS_TLS_KEY: path.optional(),
  /** `num_replicas` of every stream: 3 on a 3-node JetStream cluster. */
  NATS_STREAM_REPLICAS: int(1, 5).default(1),
  /** redis(s)://, redis(s)+sentinel://h1,h2/master[/db] or redis(s)+cluster://h1,h2 (shared/config/engineUrls.ts). */
  REDIS_URL: withSecret(engineUrl(parseRedisUrl)).optional(),
  /** Sent to the sentinels of a `redis+sentinel://` REDIS_URL (the URL's password is the master's). */
  REDIS_SENTINEL_PASSWORD: secret(1).optional(),
  MONGO_URL: withSecret(engineUrl(checkMongoUrl)).optional(),
  MONGO_DB: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be 1..63 of [A-Za-z0-9_-]')
    .default('tally'),
  DATA_DIR: z.string().min(1).default('.tally'),
  PRICE_BOOK_JSON: json('price book', parsePriceBook).default(DEFAULT_PRICE_BOOK),
  PLANS_JSON: json('plans', parsePlans).default(DEFAULT_PLANS),
  LADDER_JSON: json('ladder', parseLadder).default(DEFAULT_LADDER),
  LADDER_TICK_INTERVAL_MS: int(1000, 2 ** 31 - 1).default(24 * HOUR_MS),
  /** How long a ladder tick (the scheduler's, the admin route's, `tally ladder-tick`'s) waits for the shard owners. */
  LADDER_TICK_TIMEOUT_MS: int(1000, 3_600_000).default(60_000),
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
  /** Bytes the usage stream holds at most; past it JetStream refuses publishes (the producer retries later). */
  USAGE_MAX_BYTES: streamBytes(8 * GIB),
  /** Bytes the dead-letter stream holds at most; past it the oldest dead letters go. */
  DLQ_MAX_BYTES: streamBytes(GIB),
  /** Bytes the billing-events stream holds at most; past it the oldest events go (the events collection keeps them). */
  EVENTS_MAX_BYTES: streamBytes(GIB),
  KYC_REQUIRED: bool.default(false),
  ADMIN_TOKEN: secret(16).optional(),
  WEBHOOK_SECRET: secret(16).optional(),
  /** The address the API (and METRICS_PORT's listener) binds: loopback unless told otherwise. */
  HTTP_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.:-]+$/, 'must be a host name or an IP address, such as 0.0.0.0 to listen on every interface')
    .default('127.0.0.1'),
  HTTP_PORT: int(0, 65535).default(8080),
  /** Unset: no proxy is trusted, the client address is the peer's. */
  TRUST_PROXY: trustProxy.optional(),
  /** `tally worker` / `tally bridge` serve /metrics on this port when set (the API serves its own on HTTP_PORT). */
  METRICS_PORT: int(0, 65535).optional(),
  /** GET /v1/stats (open to anyone) reads the pipeline's counts at most once per this many ms. */
  STATS_CACHE_MS: int(100, 60_000).default(1000),
  /** A ledger page (account, limit, cursor) is read at most once per this many ms; 0 reads every request. */
  LEDGER_CACHE_MS: int(0, 60_000).default(1000),
  /** Account and webhook routes: requests per minute per account key (after authentication). */
  RATE_LIMIT_KEY_PER_MINUTE: int(1, 1_000_000).default(300),
  /** POST /v1/usage: requests (of up to 1,000 records) per minute per credential (producer key, account key or the admin token). */
  RATE_LIMIT_INGEST_PER_MINUTE: int(1, 1_000_000).default(3000),
  /** POST /v1/usage: how long a request waits for JetStream to answer every record before it is 503 (the client retries the same body). */
  INGEST_PUBLISH_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /** Account and webhook routes and the account page: requests per minute per client IP (before authentication). */
  RATE_LIMIT_IP_PER_MINUTE: int(1, 1_000_000).default(1200),
  /** Refused sign-ins (admin token, account key, sign-in forms) per minute per client IP; past it every sign-in from the IP is 429. */
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: int(1, 1_000_000).default(10),
  /** A refused request's 429 is answered after this long (at most the rest of its window). */
  RATE_LIMIT_PAUSE_MS: int(0, 60_000).default(1000),
  /** How long an account page session lasts. */
  ACCOUNT_SESSION_HOURS: int(1, 24 * 30).default(12),
  /** How long an operator's dashboard session (after /login) lasts. */
  OPERATOR_SESSION_HOURS: int(1, 24 * 30).default(12),
  /**
   * `tally worker`, `bridge`, `api` and `scheduler` cap V8's old space at this many MiB, and
   * its semi-spaces at an eighth of it (a restart of the process in place at start, Node
   * >= 22.15); 0 keeps V8's own limits, which
   * grows with the machine's memory (4 GiB at 24 GiB) and lets a busy heap grow far past
   * what is live. A `--max-old-space-size` given to node (NODE_OPTIONS) wins.
   */
  SERVICE_HEAP_MB: int(0, 1_048_576).default(256),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `auto`: one readable line per log entry when stderr is a terminal, JSON lines otherwise (pipes, files, CI). */
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  /** Fault tests only: `name=N,...` arms crash points (shared/runtime/failpoints.ts). */
  TALLY_FAILPOINTS: z
    .string()
    .regex(/^[\w.-]+(=\d+)?(,[\w.-]+(=\d+)?)*$/, 'must be name[=count][,name[=count]]...')
    .optional(),
});

type EnvOutput = z.output<typeof envSchema>;

/** NATS credentials and TLS material, as file paths read at connect time (shared/bus/connect.ts). */
export interface NatsSecurityFiles {
  credsFile?: string | undefined;
  nkeySeedFile?: string | undefined;
  tlsCaFile?: string | undefined;
  tlsCertFile?: string | undefined;
  tlsKeyFile?: string | undefined;
}

/** The variables `Config` gathers in `natsSecurity`, each with its key there. */
const NATS_SECURITY_FILES = {
  NATS_CREDS: 'credsFile',
  NATS_NKEY_SEED: 'nkeySeedFile',
  NATS_TLS_CA: 'tlsCaFile',
  NATS_TLS_CERT: 'tlsCertFile',
  NATS_TLS_KEY: 'tlsKeyFile',
} as const satisfies Record<string, keyof NatsSecurityFiles>;
type NatsSecurityVariable = keyof typeof NATS_SECURITY_FILES;

type Pascal<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Capitalize<Lowercase<Head>>}${Pascal<Tail>}` : Capitalize<Lowercase<S>>;
type Camel<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Lowercase<Head>}${Pascal<Tail>}` : Lowercase<S>;
/** BRIDGE_BATCH_SIZE -> bridgeBatchSize, PLANS_JSON -> plans (the value is parsed already). */
type ConfigKey<V extends string> = V extends `${infer Name}_JSON` ? Camel<Name> : Camel<V>;

/** The parsed environment: every variable under its `configKey`, the NATS files in `natsSecurity`. */
export type Config = { [V in Exclude<keyof EnvOutput, NatsSecurityVariable> as ConfigKey<V>]: EnvOutput[V] } & { natsSecurity: NatsSecurityFiles };

/** A variable's key in `Config` (the runtime twin of the type `ConfigKey`). */
export function configKey(variable: string): string {
  const [first = '', ...rest] = variable
    .replace(/_JSON$/, '')
    .toLowerCase()
    .split('_');
  return first + rest.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('');
}

function isNatsSecurityVariable(variable: string): variable is NatsSecurityVariable {
  return Object.hasOwn(NATS_SECURITY_FILES, variable);
}

/** The environment schema with its output renamed: what `loadConfig` parses. */
export const configSchema = envSchema.transform((env): Config => {
  const natsSecurity: NatsSecurityFiles = {};
  const config: Record<string, unknown> = { natsSecurity };
  for (const [variable, value] of Object.entries(env)) {
    if (isNatsSecurityVariable(variable)) natsSecurity[NATS_SECURITY_FILES[variable]] = value as string | undefined;
    else config[configKey(variable)] = value;
  }
  // The mapped type above and configKey spell the same rule; test/unit/config/readmeTable.test.ts reads every default back under its key.
  return config as Config;
});

/** Rules across variables, checked once each variable passed its own: problems name the variable to fix. */
export function crossCheck(config: Config): { variable: string; message: string }[] {
  const problems: { variable: string; message: string }[] = [];
  const { tlsCertFile, tlsKeyFile } = config.natsSecurity;
  // A client certificate is useless without its key and the reverse; nats.js would fail only at connect.
  if (tlsCertFile !== undefined && tlsKeyFile === undefined)
    problems.push({ variable: 'NATS_TLS_KEY', message: "must be set with NATS_TLS_CERT (the client certificate's key)" });
  if (tlsKeyFile !== undefined && tlsCertFile === undefined)
    problems.push({ variable: 'NATS_TLS_CERT', message: "must be set with NATS_TLS_KEY (the key's client certificate)" });
  return problems;
}
