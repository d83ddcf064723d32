import type { AccountDoc } from './account.js';

type Json = Record<string, string | number | boolean | null>;

const DATES = ['first_paid_at', 'last_active_at', 'vm_quota_period_end', 'created_at', 'updated_at'] as const;

/**
 * An account projection as one line of JSON: the money as a decimal string (never a float),
 * dates as epoch milliseconds. The Redis read model's hash values and the lines of the
 * store's projection snapshots are both this text. Written field by field, in the doc's own
 * key order: the same text as `JSON.stringify` of the converted object, at half its cost
 * (the owner encodes every account a batch touches; this was 11% of a worker's CPU).
 * Field names are identifiers (no escaping); strings go through JSON.stringify.
 */
export function encodeAccount(doc: AccountDoc): string {
  let out = '';
  for (const key in doc) {
    const v = (doc as unknown as Record<string, unknown>)[key];
    if (v === undefined) continue;
    out += (out === '' ? '{"' : ',"') + key + '":' + jsonValue(v);
  }
  return out === '' ? '{}' : out + '}';
}

/** A field's JSON text as JSON.stringify writes it after the codec's conversions (bigint as a string, a date as epoch ms). */
function jsonValue(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'bigint':
      return '"' + v.toString() + '"';
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      if (v === null) return 'null';
      return v instanceof Date ? jsonValue(v.getTime()) : JSON.stringify(v);
  }
}

export function decodeAccount(text: string): AccountDoc {
  const raw = JSON.parse(text) as Json;
  const doc = { ...raw, balance_micros: BigInt(raw['balance_micros'] as string) } as unknown as Record<string, unknown>;
  const threshold = raw['low_balance_micros'];
  if (typeof threshold === 'string') doc['low_balance_micros'] = BigInt(threshold);
  for (const field of DATES) doc[field] = raw[field] === null || raw[field] === undefined ? null : new Date(raw[field] as number);
  return doc as unknown as AccountDoc;
}

/** Bytes per chunk of a projection snapshot (a BSON document holds at most 16 MiB). */
const CHUNK_BYTES = 4 * 1024 * 1024;

/** Accounts as chunks of newline-separated `encodeAccount` lines, each chunk at most CHUNK_BYTES (a line is never split). */
export function encodeAccounts(docs: Iterable<AccountDoc>): { chunks: Uint8Array[]; count: number } {
  const chunks: Uint8Array[] = [];
  let lines: string[] = [];
  let size = 0;
  let count = 0;
  const cut = () => {
    if (lines.length > 0) chunks.push(Buffer.from(lines.join('\n'), 'utf8'));
    lines = [];
    size = 0;
  };
  for (const doc of docs) {
    const line = encodeAccount(doc);
    const bytes = Buffer.byteLength(line, 'utf8') + 1;
    if (size + bytes > CHUNK_BYTES) cut();
    lines.push(line);
    size += bytes;
    count++;
  }
  cut();
  return { chunks, count };
}

export function decodeAccounts(chunks: readonly Uint8Array[]): AccountDoc[] {
  const out: AccountDoc[] = [];
  for (const chunk of chunks) {
    for (const line of Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8').split('\n')) if (line) out.push(decodeAccount(line));
  }
  return out;
}
