import type { Db } from 'mongodb';
import { TallyError } from '../domain/index.js';
import { COLLECTIONS } from './collections.js';
import { listCollectionNames } from './snapshots.js';

/**
 * Refuses a store written by an earlier 0.x version in a layout this one does not read:
 * shard-log entries of formats 1 and 2 (per-account deltas as subdocuments, `accounts`),
 * usage entries of format 3 (deltas without the usage rollups, `usage`: their charges
 * would be missing from every usage query, docs/decisions/010-usage-rollups.md) and the projections kept as per-account versions in `accounts_<shard>` before projection
 * snapshots. There were no deployments to migrate (docs/decisions/008-worker-core.md), so
 * rather than misread them the worker stops at start with `store_format_unsupported`.
 * One collection listing and one query of the log (a scan on FerretDB, once per start).
 */
export async function assertStoreFormat(db: Db): Promise<void> {
  const versions = (await listCollectionNames(db)).filter((name) => new RegExp(`^${COLLECTIONS.accounts}_\\d+$`).test(name));
  if (versions.length > 0) {
    throw new TallyError(
      'store_format_unsupported',
      `the store holds account projections of an earlier version (${versions.slice(0, 3).join(', ')}): start with an empty database (MONGO_DB)`,
    );
  }
  const old = await db
    .collection<{ _id: string }>(COLLECTIONS.shardLog)
    .findOne({ $or: [{ accounts: { $exists: true } }, { deltas: { $exists: true }, usage: { $exists: false } }] }, { projection: { _id: 1 } });
  if (old) {
    throw new TallyError(
      'store_format_unsupported',
      `shard log entry ${old._id} is in log format 1, 2 or 3, which this version does not read: start with an empty database (MONGO_DB)`,
    );
  }
}
