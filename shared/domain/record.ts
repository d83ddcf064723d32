/**
 * Wire format v1 and CloudEvents 1.0 validation: bytes in, a normalized UsageRecord or
 * the first broken rule's stable code out. Rules are checked in the order SPEC 3 lists
 * the codes (size and JSON first, `unpriced` last), so one record always gets one code.
 */
import type { DeadLetterCode } from './errors.js';
import { isObject, type Json } from './json.js';
import { parseMicros, parseQuantity } from './money.js';
import { DAY_MS, MINUTE_MS, parseRfc3339 } from './time.js';
import type { Category, Kind, PriceBook, UsageRecord } from './types.js';

export type { Category, Kind, UsageRecord } from './types.js';

export const MAX_PAYLOAD_BYTES = 8192;
export const MAX_META_BYTES = 2048;
export const MAX_FUTURE_MS = 5 * MINUTE_MS;

export const KINDS: readonly Kind[] = ['vm_hour', 'llm_token', 'hero_os_hour', 'other'];
export const CATEGORIES: readonly Category[] = ['hero_os_hourly', 'llm', 'vm'];

const ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ACCOUNT = /^[A-Za-z0-9_-]{1,64}$/;
/** The id and account_id rules of SPEC 3, shared with the HTTP API's payment and account ids. */
export { ID as RECORD_ID_PATTERN, ACCOUNT as ACCOUNT_ID_PATTERN };

/**
 * The idempotency key of a record (SPEC 3): the pair (account_id, id), as one string for
 * sets and maps. One-to-one: '/' is in neither rule above, so the key's only '/' splits it
 * back into the account and the id. Every dedup (the shard owner's, `tally quote`'s)
 * builds its keys here, so the pipeline and the quote agree on what a repeat is.
 */
export function recordKey(accountId: string, id: string): string {
  return `${accountId}/${id}`;
}

const KIND_SET: ReadonlySet<unknown> = new Set(KINDS);
const CATEGORY_SET: ReadonlySet<unknown> = new Set(CATEGORIES);

export function isKind(x: unknown): x is Kind {
  return KIND_SET.has(x);
}

export function isCategory(x: unknown): x is Category {
  return CATEGORY_SET.has(x);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface ValidationContext {
  /** The instant "future" and "too late" are measured from. */
  now: number;
  /** @defaultValue 35 (LATE_ARRIVAL_DAYS) */
  lateArrivalDays: number;
  priceBook: PriceBook;
}

export interface RawMessage {
  /**
   * NATS subject, `usage.<account_id>`. Null for a record posted over HTTP (`POST /v1/usage`):
   * it has no subject yet and is published on its own account's.
   */
  subject: string | null;
  payload: Uint8Array | string;
}

export type Validation = { ok: true; record: UsageRecord } | { ok: false; code: DeadLetterCode; message: string };

/** Producers written against Option-typed schemas send `null` for "not set". */
function absent(x: unknown): x is null | undefined {
  return x === undefined || x === null;
}

function fail(code: DeadLetterCode, message: string): Validation {
  return { ok: false, code, message };
}

/** Whether text takes more than `limit` bytes as UTF-8. */
function exceeds(text: string, limit: number): boolean {
  // A UTF-16 unit is at most 3 UTF-8 bytes, so short strings need no counting.
  return text.length * 3 > limit && Buffer.byteLength(text, 'utf8') > limit;
}

/** The record's fields, plus the account a CloudEvent names in its own `subject`. */
interface Fields {
  body: Json;
  fallbackId: unknown;
  envelopeAccount: unknown;
  fallbackTime: unknown;
}

const JSON_CONTENT = /^application\/(?:[\w.+-]*\+)?json(?:;.*)?$/i;

/**
 * CloudEvents structured mode: `data` carries the v1 fields; the envelope's `id`, `subject`
 * and `time` stand in for `id`, `account_id` and `occurred_at` when `data` leaves them out.
 */
function fields(doc: Json): Fields | null {
  if (!('specversion' in doc)) {
    return { body: doc, fallbackId: undefined, envelopeAccount: undefined, fallbackTime: undefined };
  }
  const type = doc['datacontenttype'];
  if (doc['specversion'] !== '1.0' || !isObject(doc['data'])) return null;
  if (type !== undefined && (typeof type !== 'string' || !JSON_CONTENT.test(type))) return null;
  return { body: doc['data'], fallbackId: doc['id'], envelopeAccount: doc['subject'], fallbackTime: doc['time'] };
}

function lastToken(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}

function parseDocument(payload: Uint8Array | string): Json | null {
  let text: string;
  try {
    text = typeof payload === 'string' ? payload : utf8.decode(payload);
  } catch {
    return null;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  return isObject(doc) ? doc : null;
}

/**
 * The UTF-8 length of `JSON.stringify(value)` for a value JSON.parse returned, counted
 * without recursion and given up once past `limit` (the answer is then some number above
 * it). JSON.stringify recurses and overflows the stack near 5,000 levels, which a record
 * of 8 KiB can almost reach (`[[[...]]]`). Depth needs no bound of its own: each level
 * adds at least two bytes, so a deep value passes `limit` within limit/2 levels.
 */
export function jsonBytesWithin(value: unknown, limit: number): number {
  let bytes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      bytes += 2 + Math.max(0, v.length - 1);
      if (bytes > limit) return bytes;
      for (const item of v) stack.push(item);
    } else if (isObject(v)) {
      const keys = Object.keys(v);
      bytes += 2 + Math.max(0, keys.length - 1);
      for (const key of keys) {
        bytes += Buffer.byteLength(JSON.stringify(key), 'utf8') + 1;
        if (bytes > limit) return bytes;
        stack.push(v[key]);
      }
    } else {
      bytes += Buffer.byteLength(JSON.stringify(v) ?? 'null', 'utf8');
    }
    if (bytes > limit) return bytes;
  }
  return bytes;
}

/** Whatever goes wrong while measuring meta is the meta's fault, reported as invalid_meta. */
function validMeta(meta: unknown): meta is Json {
  try {
    return isObject(meta) && jsonBytesWithin(meta, MAX_META_BYTES) <= MAX_META_BYTES;
  } catch {
    return false;
  }
}

/**
 * Checks one raw message against every rule of SPEC 3. Pure: `now` comes from ctx. Total:
 * whatever the bytes, it answers a code and never throws, since a throw would leave the
 * message neither acked nor dead-lettered and cut every later fetch short.
 */
export function validateRecord(input: RawMessage, ctx: ValidationContext): Validation {
  try {
    return check(input, ctx);
  } catch {
    return fail('malformed_json', 'payload could not be read as a JSON record');
  }
}

function check(input: RawMessage, ctx: ValidationContext): Validation {
  const { payload } = input;
  if (typeof payload === 'string' ? exceeds(payload, MAX_PAYLOAD_BYTES) : payload.byteLength > MAX_PAYLOAD_BYTES) {
    return fail('too_large', `payload is over ${MAX_PAYLOAD_BYTES} bytes`);
  }

  const doc = parseDocument(payload);
  const f = doc === null ? null : fields(doc);
  if (f === null) return fail('malformed_json', 'not a JSON object in wire format v1 or CloudEvents 1.0');
  const { body } = f;

  const id = absent(body['id']) ? f.fallbackId : body['id'];
  if (typeof id !== 'string' || !ID.test(id)) return fail('invalid_id', 'id must be 1..128 of [A-Za-z0-9._:-]');

  const accountId = absent(body['account_id']) ? f.envelopeAccount : body['account_id'];
  if (typeof accountId !== 'string' || !ACCOUNT.test(accountId)) {
    return fail('invalid_account', 'account_id must be 1..64 of [A-Za-z0-9_-]');
  }
  if ((input.subject !== null && lastToken(input.subject) !== accountId) || (!absent(f.envelopeAccount) && f.envelopeAccount !== accountId)) {
    return fail('subject_mismatch', `account_id ${accountId} does not match subject ${input.subject}`);
  }

  const kind = body['kind'];
  if (!isKind(kind)) return fail('invalid_kind', 'kind must be vm_hour, llm_token, hero_os_hour or other');

  const quantity = parseQuantity(body['quantity']);
  if (quantity === null) return fail('invalid_quantity', 'quantity must be a finite number >= 0, <= 6 decimals');

  const appliesTo = absent(body['applies_to']) ? 'hero_os_hourly' : body['applies_to'];
  if (!isCategory(appliesTo)) return fail('invalid_applies_to', 'applies_to must be hero_os_hourly, llm or vm');

  const time = absent(body['occurred_at']) ? f.fallbackTime : body['occurred_at'];
  const occurredAt = typeof time === 'string' ? parseRfc3339(time) : null;
  if (occurredAt === null) return fail('invalid_occurred_at', 'occurred_at must be RFC 3339 with a time zone');
  if (occurredAt > ctx.now + MAX_FUTURE_MS) {
    return fail('occurred_in_future', 'occurred_at is more than 5 minutes ahead');
  }
  if (occurredAt < ctx.now - ctx.lateArrivalDays * DAY_MS) {
    return fail('too_late', `occurred_at is more than ${ctx.lateArrivalDays} days old`);
  }

  const rawCost = body['cost_micros'];
  const costMicros = absent(rawCost) ? null : parseMicros(rawCost);
  if (!absent(rawCost) && costMicros === null) return fail('invalid_cost', 'cost_micros must be an integer >= 0');

  const meta = absent(body['meta']) ? null : body['meta'];
  if (meta !== null && !validMeta(meta)) {
    return fail('invalid_meta', `meta must be an object of at most ${MAX_META_BYTES} bytes`);
  }

  if (costMicros === null && ctx.priceBook[kind] === undefined) {
    return fail('unpriced', `kind ${kind} has no price and no cost_micros`);
  }

  return {
    ok: true,
    record: {
      id,
      accountId,
      kind,
      quantity,
      appliesTo,
      occurredAt,
      costMicros,
      meta,
    },
  };
}
