/** The domain's public surface: pure functions over plain data, no I/O, no clock reads. */
export {
  DEAD_LETTER_CODES,
  ALL_DEAD_LETTER_CODES,
  ERROR_CODES,
  TallyError,
  isDeadLetterCode,
  isErrorCode,
} from './errors.js';
export type { DeadLetterCode, ErrorCode, ValidationCode } from './errors.js';

export {
  INT64_MAX,
  INT64_MIN,
  addInt64,
  SCALE,
  formatRatio,
  formatUsd,
  MicrosTotal,
  parseMicros,
  parseQuantity,
  parseRatio,
  ratio,
  roundHalfEven,
  toJsonMicros,
} from './money.js';
export type { Micros, Ratio } from './money.js';

export { DAY_MS, MINUTE_MS, parseRfc3339 } from './time.js';

export type {
  Category,
  FoldedEntry,
  Kind,
  Ladder,
  LadderStep,
  Plan,
  Price,
  PriceBook,
  Tier,
  UsageRecord,
} from './types.js';

export {
  ACCOUNT_ID_PATTERN,
  RECORD_ID_PATTERN,
  CATEGORIES,
  KINDS,
  MAX_FUTURE_MS,
  MAX_META_BYTES,
  MAX_PAYLOAD_BYTES,
  isCategory,
  isKind,
  recordKey,
  jsonBytesWithin,
  validateRecord,
} from './record.js';
export type { RawMessage, Validation, ValidationContext } from './record.js';

export { DEFAULT_PRICE_BOOK, parsePriceBook } from './priceBook.js';
export { DEFAULT_LADDER, multiplierFor, nextTier, parseLadder, tierAt } from './ladder.js';
export { priceBatch, priceRecord } from './pricing.js';
export type { Charge, PricedRecord } from './pricing.js';

export {
  DEFAULT_PLANS,
  decideAllocateVm,
  decideBuyPlan,
  findPlan,
  isPlanActive,
  parseBuyPlanRequest,
  parsePlans,
  perVmAuditCostMicros,
} from './plans.js';
export type {
  AllocateVmCode,
  AllocateVmInput,
  BuyPlanCode,
  BuyPlanInput,
  PlanPurchase,
  Refusal,
  VmAllocation,
} from './plans.js';

export { QuotePricer, Quoter, formatQuoteLine, parseAccountLine } from './quote.js';
export { formatRecordedLine, parseRecordedLine } from './recorded.js';
export type { RecordedMessage } from './recorded.js';
export { isObject } from './json.js';
export type { Json } from './json.js';
export { IdSet } from './idSet.js';
export { NEVER_REDRIVEN, RedriveTally, decideSend, reassessDeadLetter, redriveKey } from './redrive.js';
export type { DeadLetterInput, Reassessment, RedriveHistory, RedriveReport, SendDecision } from './redrive.js';
export type { Assessment, QuoteLine, QuoterOptions } from './quote.js';
export { tierTransitionId } from './account.js';
export type { AccountDoc, BillingEventType, EventDoc, TierTransitionDoc } from './account.js';
export { deltasOf, forEachRecord, horizonKeys, packDeltas, packRecords, shardLogId, unpackRecords } from './shardLog.js';
export type { AccountDelta, HorizonBatch, LogTotals, RefusedRecord, ShardLogDoc, ShardSnapshot } from './shardLog.js';
export { decodeAccount, decodeAccounts, encodeAccount, encodeAccounts } from './accountCodec.js';
