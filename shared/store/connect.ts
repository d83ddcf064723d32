import { MongoClient, type Db, type MongoClientOptions } from 'mongodb';
import type { Logger } from 'pino';
import { namesReplicaSet } from '../config/index.js';

export interface MongoConnection {
  client: MongoClient;
  db: Db;
  close(): Promise<void>;
}

/**
 * Driver options the product relies on, the same for FerretDB and MongoDB:
 * - `useBigInt64`: every Int64 reads back as `bigint`, so money (micros, Int64 in the
 *   database) never passes through a float; Int32 fields (counts) stay `number`.
 * - `ignoreUndefined`: an absent optional field is left out rather than stored as null.
 * - retryable reads stay at the driver default; retryable writes and `w: majority` are
 *   set for a replica set (REPLICA_SET_OPTIONS). Our writes are idempotent by `_id`, so a
 *   retried insert that had landed shows up as E11000.
 * - `serverSelectionTimeoutMS` 10 s: a wrong URL fails a command in seconds, not 30.
 * - `maxPoolSize` 16 (the driver's default is 100), which bounds the commands one client
 *   has in flight. FerretDB's SQLite handler pools 100 connections per database and an
 *   update holds one while it waits for a second; with a few hundred updates in flight
 *   across all clients the whole database deadlocks (docs/decisions/001). Keep the sum
 *   over every client of one database well under 100; a URL's `maxPoolSize` wins.
 * `directConnection` is left to the URL: a single-host URL of a replica-set member
 * should still discover the primary.
 */
export const MONGO_CLIENT_OPTIONS: Readonly<MongoClientOptions> = {
  useBigInt64: true,
  ignoreUndefined: true,
  serverSelectionTimeoutMS: 10_000,
  maxPoolSize: 16,
  appName: 'tally',
};

/**
 * On a replica set (SPEC 11: a replicated store), a write the store acknowledged must
 * survive the primary's loss: it is acknowledged once a majority holds it, and a write cut
 * off by a failover is retried on the new primary (idempotent by `_id`, see above).
 * FerretDB v1 has no replica sets: a standalone URL keeps the driver's defaults.
 */
export const REPLICA_SET_OPTIONS: Readonly<MongoClientOptions> = {
  writeConcern: { w: 'majority' },
  retryWrites: true,
};

/** URL options that set what an option of ours sets under another name. */
const SAME_AS: Record<string, readonly string[]> = { writeconcern: ['w', 'journal', 'wtimeoutms'] };

/**
 * The options for `url`: ours (plus REPLICA_SET_OPTIONS when the URL names a replica set),
 * minus any the URL sets itself (the driver would let ours win).
 */
export function mongoClientOptions(url: string): MongoClientOptions {
  const query = url.split('?')[1] ?? '';
  const inUrl = new Set([...new URLSearchParams(query).keys()].map((k) => k.toLowerCase()));
  const ours = { ...MONGO_CLIENT_OPTIONS, ...(namesReplicaSet(url) ? REPLICA_SET_OPTIONS : {}) };
  const setByUrl = (k: string): boolean => inUrl.has(k.toLowerCase()) || (SAME_AS[k.toLowerCase()] ?? []).some((alias) => inUrl.has(alias));
  return Object.fromEntries(Object.entries(ours).filter(([k]) => !setByUrl(k)));
}

/** Connects (and pings, so a bad URL fails here) and returns the product database. */
export async function connectMongo(url: string, dbName: string, logger?: Logger, extra: MongoClientOptions = {}): Promise<MongoConnection> {
  const client = new MongoClient(url, { ...mongoClientOptions(url), ...extra });
  try {
    await client.connect();
    await client.db(dbName).command({ ping: 1 });
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
  logger?.debug({ db: dbName }, 'connected to MongoDB');
  return { client, db: client.db(dbName), close: () => client.close() };
}
