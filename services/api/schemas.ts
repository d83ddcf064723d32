/**
 * Request shapes of the HTTP API, validated with zod: unknown fields, wrong types and
 * malformed values are all `invalid_request` (400) naming the offending field.
 */
import { z } from 'zod';
import { ACCOUNT_ID_PATTERN, INT64_MAX, INT64_MIN, RECORD_ID_PATTERN, TallyError, parseMicros, parseRfc3339 } from '../../shared/domain/index.js';

/** The body parser's mark for a body that is not JSON; reported after authentication. */
export const INVALID_JSON: unique symbol = Symbol('invalid JSON');

const accountId = z.string().regex(ACCOUNT_ID_PATTERN, 'must be 1..64 characters of [A-Za-z0-9_-]');

/** Money in JSON (SPEC 2): a safe integer, or a decimal string beyond 2^53; > 0, within Int64. */
const positiveMicros = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const micros = parseMicros(value);
  if (micros === null || micros === 0n) {
    ctx.addIssue({ code: 'custom', message: 'must be an integer number of micros > 0 (a decimal string above 2^53)' });
    return z.NEVER;
  }
  return micros;
});

const WHOLE_TEXT = /^-?(?:0|[1-9][0-9]{0,39})$/;

/**
 * A whole number of micros too large for any stored amount (`signed`: below Int64 too):
 * refused as out of range (422 `amount_out_of_range`, SPEC 2), not as malformed (400).
 */
export function beyondInt64(value: unknown, signed = false): boolean {
  const whole = typeof value === 'number' ? Number.isInteger(value) : typeof value === 'string' && WHOLE_TEXT.test(value);
  if (!whole) return false;
  const micros = BigInt(value as number | string);
  return micros > INT64_MAX || (signed && micros < INT64_MIN);
}

/** A signed, non-zero amount of micros: a safe integer, or a decimal string beyond 2^53 (range checked first: beyondInt64). */
const signedMicros = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const micros = typeof value === 'number' ? (Number.isSafeInteger(value) ? BigInt(value) : null) : WHOLE_TEXT.test(value) ? BigInt(value) : null;
  if (micros === null || micros === 0n) {
    ctx.addIssue({ code: 'custom', message: 'must be a non-zero integer number of micros (a decimal string beyond 2^53)' });
    return z.NEVER;
  }
  return micros;
});

/** A threshold in micros: an integer >= 0 within Int64 (a decimal string beyond 2^53). */
const thresholdMicros = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const micros = parseMicros(value);
  if (micros === null) {
    ctx.addIssue({ code: 'custom', message: 'must be an integer number of micros >= 0 (a decimal string beyond 2^53)' });
    return z.NEVER;
  }
  return micros;
});

/** An RFC 3339 instant as epoch ms. */
const instant = z
  .string()
  .max(64)
  .transform((value, ctx) => {
    const ms = parseRfc3339(value);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: 'must be an RFC 3339 timestamp with a time zone' });
      return z.NEVER;
    }
    return ms;
  });

export const accountParams = z.strictObject({ id: accountId });

const keyId = z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 hex digits');

/** `DELETE /v1/admin/accounts/:id/keys/:key_id`: key ids are 16 hex digits (services/api/keys). */
export const keyParams = z.strictObject({ id: accountId, key_id: keyId });

export const producerKeyParams = z.strictObject({ key_id: keyId });

/** `POST /v1/webhooks/payment` (SPEC 13). */
export const paymentBody = z.strictObject({
  payment_id: z.string().regex(RECORD_ID_PATTERN, 'must be 1..128 characters of [A-Za-z0-9._:-]'),
  account_id: accountId,
  amount_micros: positiveMicros,
  paid_at: instant,
});

/** `POST /v1/admin/accounts/:id/adjustments` (SPEC 13 "Adjustments"). */
export const adjustmentBody = z.strictObject({
  adjustment_id: z.string().regex(RECORD_ID_PATTERN, 'must be 1..128 characters of [A-Za-z0-9._:-]'),
  amount_micros: signedMicros,
  reason: z.string().min(1).max(500).regex(/\S/, 'must say something'),
});

/** `PUT /v1/admin/accounts/:id/alerts`: the account's own low-balance threshold; null goes back to LOW_BALANCE_MICROS. */
export const alertsBody = z.strictObject({ low_balance_micros: z.union([thresholdMicros, z.null()]) });

export const buyPlanBody = z.strictObject({ plan_id: z.string().min(1).max(64) });

/** `POST /v1/accounts/:id/vms` takes no options yet: no body, or `{}`. */
export const allocateVmBody = z.strictObject({}).optional();

export const kycBody = z.strictObject({ verified: z.boolean() });

/** `now` moves the tick's clock (admin and tests); absent, the tick runs as of the server's time. */
export const tickBody = z.strictObject({ now: instant.optional() }).optional();

const limit = z
  .string()
  .regex(/^\d{1,3}$/, 'must be an integer 1..500')
  .transform(Number)
  .pipe(z.number().int().min(1, 'must be an integer 1..500').max(500, 'must be an integer 1..500'));

export const ledgerQuery = z.strictObject({ limit: limit.optional(), after: z.string().min(1).max(300).optional() });

export const allocationsQuery = z.strictObject({ limit: limit.optional(), after: z.string().min(1).max(200).optional() });

export const ticksQuery = z.strictObject({ limit: limit.optional() });

const codes = z.union([z.string().max(512), z.array(z.string().max(64)).max(32)]).transform((c) => (Array.isArray(c) ? c : [c]));
const deadLetterFilter = {
  code: codes.optional(),
  since: z.string().max(64).optional(),
  until: z.string().max(64).optional(),
  account: z.string().max(64).optional(),
};

/** GET /v1/admin/dead-letters: filters, a page size and the previous page's `next`. */
export const deadLettersQuery = z.strictObject({
  ...deadLetterFilter,
  limit: limit.optional(),
  after: z
    .string()
    .regex(/^\d{1,16}$/, 'must be the next of a previous page')
    .optional(),
});

/** GET /v1/admin/dead-letters/counts. */
export const deadLetterCountsQuery = z.strictObject(deadLetterFilter);

/** POST /v1/admin/dead-letters/redrive: the filters or `all` (one of them: requireSelection), at most `limit` dead letters, a preview when `dry_run`. */
export const redriveBody = z.strictObject({
  ...deadLetterFilter,
  all: z.boolean().optional(),
  limit: z.number().int().min(1).max(1_000_000).optional(),
  dry_run: z.boolean().optional(),
});

/** Parses `value` or throws `invalid_request` naming the first problem (`body.plan_id: ...`). */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  if (value === INVALID_JSON) throw new TallyError('invalid_request', `${where}: not valid JSON`);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue && issue.path.length > 0 ? `${where}.${issue.path.join('.')}` : where;
  throw new TallyError('invalid_request', `${path}: ${issue?.message ?? 'invalid'}`);
}
