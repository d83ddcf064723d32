import { RequestError, TimeoutError, type NatsConnection } from '@nats-io/transport-node';
import { foldSubject } from '../bus/index.js';
import { decodeAccount, type AccountDoc, type FoldedEntry } from '../domain/index.js';
import { fromFoldJobEntry, toFoldJobEntry, type FoldJobEntry, type FoldSigner } from '../queue/index.js';

/**
 * Fold requests over core NATS (decision 013): the API's fast way to the owner of a shard.
 * The ledger entry is durable before the request is sent, so a request lost on the way is
 * only a fold that comes later: the API then adds the BullMQ fold job, and every owner folds
 * what it finds unfolded when it takes the shard and at every ladder tick.
 *
 * A request moves money, so it carries an HMAC under a key kept in Redis (FoldSigner): a
 * fold can be asked for only by a process that can read Redis, the same authority a BullMQ
 * fold job needs. A NATS identity alone (a subject permission mistake) cannot credit anyone.
 */

/** A request's body: the entries, amounts as decimal strings (JSON has no bigint). */
interface FoldRequestBody {
  entries: FoldJobEntry[];
}

/**
 * The owner's answer: the positions (in the request) of entries refused as
 * `amount_out_of_range` and the entries' accounts as folded (encodeAccount, what the read
 * model holds: the API answers with them without reading it again); or why it folded nothing.
 */
export type FoldReply = { refused: number[]; accounts: Record<string, string> } | { error: string; code?: 'bad_signature' };

/** What became of a request. */
export type FoldAnswer =
  /** Committed: the entries are in the shard log and the read model. */
  | { state: 'folded'; refused: number[]; accounts: Map<string, AccountDoc> }
  /** Nobody listens on the shard's subject (no owner yet, or it is being handed over). */
  | { state: 'no_owner' }
  /** No answer within the wait: the owner may still fold them. */
  | { state: 'timeout' }
  /** The owner answered that it folded nothing (it is letting the shard go, the store failed). */
  | { state: 'failed'; error: string };

const MAC_HEX = 64;

/** A request on the wire: the body's HMAC in hex, a newline, the body (JSON). */
async function encodeFoldRequest(signer: FoldSigner, entries: readonly FoldedEntry[]): Promise<Uint8Array> {
  const body = Buffer.from(JSON.stringify({ entries: entries.map(toFoldJobEntry) } satisfies FoldRequestBody));
  return Buffer.concat([Buffer.from((await signer.sign(body)).toString('hex') + '\n'), body]);
}

/** Thrown for a request whose signature does not verify. */
export class FoldSignatureError extends Error {
  constructor() {
    super('the fold request is not signed with the fold key');
  }
}

/** The entries of a signed request; throws on anything else. */
export async function decodeFoldRequest(signer: FoldSigner, data: Uint8Array): Promise<FoldedEntry[]> {
  const raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const mac = Buffer.from(raw.subarray(0, MAC_HEX).toString('latin1'), 'hex');
  const body = raw.subarray(MAC_HEX + 1);
  if (raw[MAC_HEX] !== 0x0a || mac.length !== MAC_HEX / 2 || !(await signer.verify(body, mac))) throw new FoldSignatureError();
  return parseEntries(JSON.parse(body.toString('utf8')) as Partial<FoldRequestBody> | null);
}

function parseEntries(body: Partial<FoldRequestBody> | null): FoldedEntry[] {
  const entries = body?.entries;
  if (!Array.isArray(entries) || entries.length === 0) throw new Error('a fold request carries a non-empty entries array');
  return entries.map((e) => {
    if (typeof e?.id !== 'string' || typeof e.a !== 'string' || typeof e.d !== 'string') throw new Error('a fold request entry needs id, a and d');
    return fromFoldJobEntry(e);
  });
}

export const encodeFoldReply = (reply: FoldReply): Uint8Array => Buffer.from(JSON.stringify(reply));

/** Asks the owner of `shard` to fold `entries` now, waiting at most `timeoutMs` for its answer. */
export async function requestFold(
  nc: NatsConnection,
  signer: FoldSigner,
  shard: number,
  entries: readonly FoldedEntry[],
  timeoutMs: number,
): Promise<FoldAnswer> {
  let data: Uint8Array;
  try {
    data = (await nc.request(foldSubject(shard), await encodeFoldRequest(signer, entries), { timeout: Math.max(1, timeoutMs) })).data;
  } catch (err) {
    if (err instanceof RequestError && err.isNoResponders()) return { state: 'no_owner' };
    if (err instanceof TimeoutError) return { state: 'timeout' };
    // A closed or draining connection, a cancelled request: the durable job takes over.
    return { state: 'failed', error: err instanceof Error ? err.message : String(err) };
  }
  const reply = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as FoldReply;
  if ('refused' in reply) {
    const accounts = new Map(Object.entries(reply.accounts).map(([id, text]) => [id, decodeAccount(text)] as const));
    return { state: 'folded', refused: reply.refused, accounts };
  }
  if (reply.code === 'bad_signature') signer.forget();
  return { state: 'failed', error: reply.error };
}
