/**
 * The store's internals, for tests, benchmarks and tools that look beneath the public
 * surface (`./index.js`): collection names and accessors, the driver options, the log's
 * raw codecs. The product's own code does not import this entry.
 */
export { mongoClientOptions, MONGO_CLIENT_OPTIONS, REPLICA_SET_OPTIONS } from './connect.js';
export { COLLECTIONS } from './collections.js';
export type { CheckpointDoc } from './collections.js';
export { isDuplicateKey, duplicateIndexes } from './errors.js';
export { forEachRecord, unpackRecords } from './shardLog.js';
export { horizonChunksCollection, snapshotChunksCollection, PROJECTION_SNAPSHOTS } from './snapshots.js';
export { listAccounts } from './accounts.js';
export { decodeAccounts } from '../domain/index.js';
export { encodeLedgerCursor } from './ledgerView.js';
