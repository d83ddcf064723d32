/**
 * What every server-facing command needs. The runtime modules (pino, the endpoint
 * resolver) are loaded when a command runs, not when the CLI starts: `tally quote`
 * and `tally --help` never pay for them (see services/cli/main.ts).
 */
import type { Logger } from 'pino';
import { loadConfig, type Config } from '../../shared/config/index.js';
import type { Endpoints } from '../../shared/runtime/index.js';
import type { Db } from 'mongodb';
import type { Redis } from 'ioredis';
import type { AccountReader } from '../../shared/readModel/index.js';

export interface CliContext {
  config: Config;
  logger: Logger;
}

/** Config and logger for a command; config errors surface as the CLI's exit code 2. */
export async function cliContext(name: string): Promise<CliContext> {
  const config = loadConfig();
  const [{ createLogger }, { armFailpoints }] = await Promise.all([import('../../shared/runtime/logger.js'), import('../../shared/runtime/failpoints.js')]);
  armFailpoints(config.tallyFailpoints);
  return { config, logger: createLogger({ level: config.logLevel, name, format: config.logFormat }) };
}

/** The servers to talk to: the URLs from the environment, or those `tally up` wrote under DATA_DIR. */
export async function endpointsFor(config: Config): Promise<Endpoints> {
  const { resolveEndpoints } = await import('../../shared/runtime/endpoints.js');
  return resolveEndpoints(config);
}

/** Writes one JSON value per line; bigint becomes a number when safe, else a decimal string. */
export function ndjson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v,
  );
}

export interface OpenedAccounts {
  db: Db;
  accounts: AccountReader;
  redis: Redis;
  close(): Promise<void>;
}

/**
 * The store and the account reader (read model in Redis, the store for a shard whose
 * model is lost), as the API reads accounts; `close` ends both connections.
 */
async function openAccounts(config: Config): Promise<OpenedAccounts> {
  const [{ connectMongo }, { redisAuth, redisConnection, shardOf }, { AccountReadModel, AccountReader }] = await Promise.all([
    import('../../shared/store/index.js'),
    import('../../shared/queue/index.js'),
    import('../../shared/readModel/index.js'),
  ]);
  const endpoints = await endpointsFor(config);
  const mongo = await connectMongo(endpoints.mongoUrl, config.mongoDb);
  const redis = redisConnection(endpoints.redisUrl, { ...redisAuth(config), maxRetriesPerRequest: 2 });
  const accounts = new AccountReader(new AccountReadModel(redis, config.mongoDb, config.shards), mongo.db, config.shards, (id) => shardOf(id, config.shards));
  return {
    db: mongo.db,
    accounts,
    redis,
    close: async () => {
      redis.disconnect();
      await mongo.close();
    },
  };
}

/** A command that reads accounts: `run` gets them (and the config), and they are closed whatever it does. */
export async function withAccounts<T>(name: string, run: (opened: OpenedAccounts, config: Config) => Promise<T>): Promise<T> {
  const { config } = await cliContext(name);
  const opened = await openAccounts(config);
  try {
    return await run(opened, config);
  } finally {
    await opened.close();
  }
}
