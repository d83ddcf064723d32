/**
 * The one error registry of the product: every stable code, its HTTP status and what it
 * means. The same code string appears in HTTP bodies, dead letters and metric labels.
 */

const DEAD_LETTER = {
  malformed_json: [422, 'payload is not a JSON object in wire format v1 or CloudEvents 1.0 structured JSON'],
  too_large: [413, 'payload is larger than 8 KiB'],
  invalid_id: [422, 'id is not 1..128 characters of [A-Za-z0-9._:-]'],
  invalid_account: [422, 'account_id is not 1..64 characters of [A-Za-z0-9_-]'],
  subject_mismatch: [422, "account_id differs from the subject's last token"],
  invalid_kind: [422, 'kind is not vm_hour, llm_token, hero_os_hour or other'],
  invalid_quantity: [422, 'quantity is not a finite number >= 0 with at most 6 decimal places'],
  invalid_applies_to: [422, 'applies_to is not hero_os_hourly, llm or vm'],
  invalid_occurred_at: [422, 'occurred_at is not an RFC 3339 timestamp with a time zone'],
  occurred_in_future: [422, 'occurred_at is more than 5 minutes in the future'],
  too_late: [422, 'occurred_at is older than the late-arrival horizon'],
  invalid_cost: [422, 'cost_micros is not an integer >= 0 that fits Int64'],
  invalid_meta: [422, 'meta is not an object of at most 2 KiB'],
  unpriced: [422, 'no price: kind other without cost_micros, or kind missing from the price book'],
} as const satisfies Record<string, readonly [number, string]>;

/** Decided by the shard owner, not by validation: it needs the account's balance (SPEC 2). */
const OUT_OF_RANGE = {
  amount_out_of_range: [422, 'the charge or credit would take a balance or a stored sum outside Int64'],
} as const satisfies Record<string, readonly [number, string]>;

const PRODUCT = {
  invalid_request: [400, 'the request body or parameters are malformed'],
  invalid_query: [400, 'a usage query parameter (from, to, window, group_by) is malformed or asks what cannot be answered exactly'],
  selection_required: [400, 'an operator action on many records or on money needs an explicit selection; an empty request is never "everything"'],
  unknown_plan: [400, 'plan_id names no plan in the registry'],
  unauthorized: [401, 'no credentials, or credentials that match nothing'],
  insufficient_balance: [402, "the balance does not cover the plan's price"],
  forbidden: [403, 'the credentials do not grant access to this account'],
  forbidden_origin: [403, "a state-changing browser request whose Origin (or Referer) is not the API's own"],
  kyc_required: [403, 'the account must pass KYC before buying a plan'],
  account_not_found: [404, 'no account with this id'],
  not_found: [404, 'no such route or resource'],
  plan_active: [409, 'the account already has an active plan'],
  no_active_plan: [409, 'allocating a VM needs an active plan'],
  quota_exhausted: [409, "the active plan's VM quota is used up"],
  payment_conflict: [409, 'this payment_id was already credited with a different account, amount or paid_at'],
  conflict: [409, 'this id was already used with a different body (an adjustment_id with another account, amount or reason)'],
  body_too_large: [413, 'the request body is larger than the route accepts'],
  uri_too_long: [414, 'a path parameter is longer than 100 characters'],
  unsupported_media_type: [415, 'the route does not read a body of this content type'],
  rate_limited: [429, 'too many requests; retry later'],
  internal: [500, 'an unexpected error; the request may be retried'],
  unavailable: [503, 'a server the service depends on does not answer'],
  // Never sent over HTTP: a bad configuration stops the process at start.
  config_invalid: [500, 'a configuration value breaks its rule'],
  // Never sent over HTTP either: a worker refuses to start on a store it cannot read.
  store_format_unsupported: [500, 'the store holds data in a format this version does not read (shard log formats 1-3, projection versions)'],
} as const satisfies Record<string, readonly [number, string]>;

/** Codes validation gives a usage record (SPEC 3). */
export type ValidationCode = keyof typeof DEAD_LETTER;
/** Codes a usage record can be dead-lettered with: validation's, and the owner's range check (SPEC 2). */
export type DeadLetterCode = ValidationCode | keyof typeof OUT_OF_RANGE;
/** Every stable error code of the product. */
export type ErrorCode = DeadLetterCode | keyof typeof PRODUCT;

/** The registry as data: code -> HTTP status and a one-line meaning. */
export const ERROR_CODES: Readonly<Record<ErrorCode, { status: number; meaning: string }>> = Object.fromEntries(
  Object.entries({ ...DEAD_LETTER, ...OUT_OF_RANGE, ...PRODUCT }).map(([code, [status, meaning]]) => [code, { status, meaning }]),
) as Record<ErrorCode, { status: number; meaning: string }>;

/**
 * The validation codes in the order SPEC 3 lists them. Validation checks them in this order
 * too, except `too_large`, which it checks first, before parsing (docs/decisions/002-domain.md).
 */
export const DEAD_LETTER_CODES = Object.keys(DEAD_LETTER) as ValidationCode[];

/** Every code a dead letter can carry. */
export const ALL_DEAD_LETTER_CODES = [...DEAD_LETTER_CODES, ...(Object.keys(OUT_OF_RANGE) as (keyof typeof OUT_OF_RANGE)[])] as DeadLetterCode[];

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

export function isDeadLetterCode(code: string): code is DeadLetterCode {
  return Object.hasOwn(DEAD_LETTER, code) || Object.hasOwn(OUT_OF_RANGE, code);
}

/** An error with a stable code; its status comes from the registry. */
export class TallyError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string = ERROR_CODES[code].meaning, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TallyError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
  }

  /** The HTTP error body of SPEC 13. */
  toBody(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}
