/**
 * The store's public surface: what the services, the read model and the application
 * layer use. Collection names, raw collection accessors and the helpers that only tests
 * and tools need are in `./internal.js` (as nats.js keeps its internals apart).
 */
export { connectMongo } from './connect.js';
export type { MongoConnection } from './connect.js';
export { ensureIndexes } from './indexes.js';
export { assertStoreFormat } from './storeFormat.js';
export type { IndexPlan } from './indexes.js';
export type {
  AccountDelta,
  FoldedEntry,
  RefusedRecord,
  ShardLogDoc,
  LedgerDoc,
  AccountDoc,
  BillingEventType,
  EventDoc,
  HorizonManifestDoc,
} from './collections.js';
export { InvalidCursorError } from './errors.js';
export {
  appendShardLog,
  deltasOf,
  forEachRecord,
  horizonKeys,
  packDeltas,
  packRecords,
  loadShard,
  writeCheckpoint,
  shardLogId,
  compactShardLog,
} from './shardLog.js';
export type { HorizonBatch, LoadShardOptions, LogTotals, ShardSnapshot } from './shardLog.js';
export { findHorizonSnapshot, pruneHorizonSnapshots, readHorizonChunks, writeHorizonSnapshot } from './snapshots.js';
export type { HorizonSnapshotWrite } from './snapshots.js';
export { writeProjectionSnapshot, readAccount, loadShardAccounts } from './accounts.js';
export type { ShardProjections } from './accounts.js';
export { encodeAccount, decodeAccount, encodeAccounts } from '../domain/index.js';
export { insertEvents, listEvents, listUnpublishedEvents, markEventsPublished } from './events.js';
export { countLedgerKinds, sumShardLog, verifyLedger } from './audit.js';
export type { LedgerTotals, Mismatch } from './audit.js';
export type { AllocationDoc, AllocationStatus, TierTransitionDoc, TickDoc } from './collections.js';
export {
  paymentEntryId,
  planEntryId,
  kycEntryId,
  adjustmentEntryId,
  alertsEntryId,
  insertLedgerEntry,
  readLedgerEntry,
  foldOfLedger,
  foldOfAllocation,
  unfoldedEntries,
} from './ledger.js';
export type { LedgerState } from './ledger.js';
export { readAccountLedger, parseLedgerCursor } from './ledgerView.js';
export type { LedgerLine, LedgerPage, LedgerCursor } from './ledgerView.js';
export { allocationId, insertAllocation, listAllocations, pageAllocations, expireAllocations } from './allocations.js';
export type { AllocationPage } from './allocations.js';
export { tierTransitionId, insertTierTransitions, listTierTransitions, insertTick, listTicks } from './ticks.js';
export type { AccountKeyDoc, ProducerKeyDoc } from './collections.js';
export { insertAccountKey, readAccountKey, insertKeyRevocation, listAccountKeys, listProducerKeys, listRevokedKeyIds, revocationId } from './keys.js';
export type { KeyDoc } from './keys.js';
export { listRecentAllocations, listRecentTierTransitions } from './recent.js';
export type { RedriveDoneDoc, RedriveRunDoc, RedriveSendDoc } from './collections.js';
export {
  committedJobs,
  finishRedriveRun,
  insertRedriveRun,
  listRedriveRuns,
  markRedriveDone,
  readJobEntry,
  readRedriveHistory,
  recordRedriveSends,
  redriveSendId,
} from './redrive.js';
