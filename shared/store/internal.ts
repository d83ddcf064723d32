/**
 * The store's internals, for tests, benchmarks and tools that look beneath the public
 * surface (`./index.js`): collection names and accessors, the driver options, the log's
 * raw codecs. The product's own code does not import this entry.
 */
export { mongoClientOptions, MONGO_CLIENT_OPTIONS, REPLICA_SET_OPTIONS } from './connect.js';
export { STORE_INDEXES } from './indexes.js';
export { COLLECTIONS } from './collections.js';
export type { CheckpointDoc, KeyRevocationDoc } from './collections.js';
export { isDuplicateKey, duplicateIndexes, insertUnique } from './errors.js';
export { forEachRecord, unpackRecords } from './shardLog.js';
export { findSnapshot, horizonChunksCollection, snapshotChunksCollection, PROJECTION_SNAPSHOTS } from './snapshots.js';
export { listAccounts, MAX_STATEMENTS_PER_COMMAND } from './accounts.js';
export { decodeAccounts } from '../domain/index.js';
export { encodeLedgerCursor } from './ledgerView.js';
