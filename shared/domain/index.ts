/** The domain's public surface: pure functions over plain data, no I/O, no clock reads. */
export { DEAD_LETTER_CODES, ALL_DEAD_LETTER_CODES, ERROR_CODES, TallyError, isDeadLetterCode, isErrorCode } from './errors.js';
export type { DeadLetterCode, ErrorCode, ValidationCode } from './errors.js';

export { INT64_MAX, INT64_MIN, addInt64, formatUsd, MicrosTotal, parseMicros, parseQuantity, parseRatio, roundHalfEven, toJsonMicros } from './money.js';

export { DAY_MS, parseRfc3339 } from './time.js';

export type { Category, FoldedEntry, Kind, Ladder, Plan, PriceBook, Tier, UsageRecord } from './types.js';

export { ACCOUNT_ID_PATTERN, RECORD_ID_PATTERN, CATEGORIES, MAX_META_BYTES, recordKey, jsonBytesWithin, validateRecord } from './record.js';
export type { ValidationContext } from './record.js';
export { splitJsonArray, splitNdjson } from './recordBatch.js';

export { DEFAULT_PRICE_BOOK, parsePriceBook } from './priceBook.js';
export { DEFAULT_LADDER, multiplierFor, nextTier, parseLadder, tierAt } from './ladder.js';
export { priceRecord } from './pricing.js';

export { DEFAULT_PLANS, decideAllocateVm, decideBuyPlan, findPlan, isPlanActive, parsePlans, perVmAuditCostMicros } from './plans.js';
export type { AllocateVmCode, AllocateVmInput, BuyPlanCode, BuyPlanInput } from './plans.js';

export { QuotePricer, Quoter, formatQuoteLine, parseAccountLine } from './quote.js';
export { formatRecordedLine, parseRecordedLine } from './recorded.js';
export { isObject } from './json.js';
export { IdSet } from './idSet.js';
export { RedriveTally, decideSend, reassessDeadLetter, redriveKey } from './redrive.js';
export type { RedriveReport } from './redrive.js';
export type { QuoteLine, QuoterOptions } from './quote.js';
export { newAccount, tierTransitionId } from './account.js';
export type { AccountDoc, BillingEventType, EventDoc, TierTransitionDoc } from './account.js';
export { deltasOf, forEachRecord, horizonKeys, packDeltas, packRecords, shardLogId, unpackRecords } from './shardLog.js';
export type { AccountDelta, HorizonBatch, LogTotals, ModelPosition, RefusedRecord, ShardLogDoc, ShardSnapshot } from './shardLog.js';
export { decodeAccount, decodeAccounts, encodeAccount, encodeAccounts } from './accountCodec.js';
export {
  HOUR_MS,
  RECENT_HOURS,
  RecentUsage,
  UsageTally,
  entryUsageOf,
  foldUsage,
  hourFoldBefore,
  packEntryUsage,
  recentAnswer,
  unpackRecent,
  unpackUsage,
} from './usage.js';
export type { RecentHour, UsageBucket } from './usage.js';
export { earliestHour, formatQuantity, parseUsageQuery, usageAnswer, usageRowView, usageRows } from './usageQuery.js';
export type { UsageGroup, UsageQuery, UsageRow, UsageWindow } from './usageQuery.js';
