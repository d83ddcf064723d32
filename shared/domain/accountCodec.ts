import type { AccountDoc } from './account.js';

type Json = Record<string, string | number | boolean | null>;

const DATES = ['first_paid_at', 'last_active_at', 'vm_quota_period_end', 'created_at', 'updated_at'] as const;

/**
 * An account projection as one line of JSON: the money as a decimal string (never a float),
 * dates as epoch milliseconds. The Redis read model's hash values and the lines of the
 * store's projection snapshots are both this text.
 */
export function encodeAccount(doc: AccountDoc): string {
  const out: Json = {};
  for (const [k, v] of Object.entries(doc)) {
    if (v === undefined) continue;
    out[k] = typeof v === 'bigint' ? v.toString() : v instanceof Date ? v.getTime() : (v as string | number | boolean | null);
  }
  return JSON.stringify(out);
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
