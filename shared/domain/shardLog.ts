import type { AccountDoc } from './account.js';
import { recordKey } from './record.js';
import type { FoldedEntry } from './types.js';

/*
 * The shard log's entry and its codec (docs/pipeline.md, "How the log stores it"). Pure, so
 * both sides share it: the store reads and writes entries, the shard owner's core
 * (services/worker/core) plans and folds them.
 */

/** One account's net change in one shard-log entry. */
export interface AccountDelta {
  /** account id */
  a: string;
  /** micros, negative for charges */
  d: bigint;
  /** records charged */
  n: number;
  /** latest occurred_at among them (ms) */
  t: number;
}

/**
 * The append-only shard log: `_id` = `<shard>:<seq>`, so two owners racing for one step
 * cannot both write it. A usage entry holds the batch's charged record ids (the dedup
 * horizon's source) and per-account deltas (the usage ledger); a fold entry holds folded
 * ledger entries and no ids; a fence holds nothing.
 */
export interface ShardLogDoc {
  _id: string;
  shard: number;
  seq: number;
  at: Date;
  /** BullMQ job that produced it, for operators tracing a batch. */
  job: string;
  /**
   * The ids of the records charged, grouped as `accounts` is ordered: the `accounts[0].n`
   * ids of `accounts[0].a` first, then those of `accounts[1]`, and so on, so each id's
   * account (half of the idempotency key, SPEC 3) is known without storing it again
   * (`forEachRecord` in shardLog.ts pairs them), as the text of one JSON array. One string
   * rather than a BSON array: FerretDB v1 decodes every document of the collection for
   * every query, and an array costs it per element (a 5 M-id log scanned 8-14x slower;
   * test/bench/takeover.md). Absent in fold entries (their ids are `folds[].id`, a
   * namespace of their own) and fences. Removed by compaction once older than the dedup
   * horizon (the deltas stay: they are the ledger).
   */
  rids?: string;
  /**
   * The JetStream sequence of the message that carried each id, parallel to the ids (a
   * redelivered message is then told apart from a duplicate after a takeover too): the
   * first, then each one's difference from the one before, in decimal, comma-separated
   * (a batch's sequences mostly follow one another: "5120,1,1,1"). Removed with `rids`.
   */
  rseq?: string;
  /** Records refused as `amount_out_of_range` (not charged); a redelivery of one is refused again. */
  refused?: RefusedRecord[];
  compacted?: boolean;
  duplicates: number;
  /**
   * The per-account deltas of a usage entry (log format 3): one line per account, `<account>
   * <delta micros> <records> <latest occurred_at ms>`, in the order the ids in `rids` are
   * grouped (`packDeltas`, `deltasOf` in shardLog.ts). Text, not an array of subdocuments:
   * FerretDB v1 pays per element and per field to insert and to scan (test/bench/logEntryCost.ts:
   * an entry of 200 deltas costs it ~4x the CPU to insert and ~13x to scan as subdocuments).
   * Absent in fold entries and fences.
   */
  deltas?: string;
  /**
   * The usage rollups of a usage entry's charged records (log format 4): one line per
   * account and (hour, kind, applies_to), `packEntryUsage` in usage.ts. Present, maybe
   * empty, in every usage entry, so the owner re-derives the rollups exactly from the log
   * tail after a takeover; an entry with `deltas` and without it is format 3, which this
   * version refuses (storeFormat.ts). Text for the reason `deltas` is. Kept by compaction.
   */
  usage?: string;
  folds: FoldedEntry[];
}

/** A record the owner refused: charging it would have taken a balance or a stored sum outside Int64 (SPEC 2). */
export interface RefusedRecord {
  a: string;
  id: string;
  /** JetStream sequence of its message (0: unknown). */
  s: number;
}

export const shardLogId = (shard: number, seq: number): string => `${shard}:${seq}`;

/** An entry's per-account deltas as stored: `deltas` (ShardLogDoc, log format 3). */
export function packDeltas(deltas: readonly AccountDelta[]): string {
  return deltas.map((d) => `${d.a} ${d.d} ${d.n} ${d.t}`).join('\n');
}

const parsedDeltas = new WeakMap<object, AccountDelta[]>();

/** The per-account deltas of an entry (parsed once per entry object); none in a fold entry or a fence. */
export function deltasOf(entry: Pick<ShardLogDoc, 'deltas'>): AccountDelta[] {
  if (entry.deltas === undefined) return [];
  let parsed = parsedDeltas.get(entry);
  if (parsed === undefined) {
    parsed = [];
    if (entry.deltas !== '') {
      for (const line of entry.deltas.split('\n')) {
        const [a, d, n, t] = line.split(' ');
        parsed.push({ a: a!, d: BigInt(d!), n: Number(n), t: Number(t) });
      }
    }
    parsedDeltas.set(entry, parsed);
  }
  return parsed;
}

/** An entry's charged records as stored: `rids` and `rseq` (ShardLogDoc). */
export function packRecords(ids: readonly string[], seqs: readonly number[]): Required<Pick<ShardLogDoc, 'rids' | 'rseq'>> {
  let rseq = '';
  for (let i = 0; i < seqs.length; i++) rseq += i === 0 ? String(seqs[0]) : `,${seqs[i]! - seqs[i - 1]!}`;
  return { rids: JSON.stringify(ids), rseq };
}

/** The ids and message sequences of an entry's charged records (none once compacted). */
export function unpackRecords(entry: Pick<ShardLogDoc, 'rids' | 'rseq'>): { ids: string[]; seqs: number[] } {
  if (entry.rids === undefined) return { ids: [], seqs: [] };
  const ids = JSON.parse(entry.rids) as string[];
  const seqs: number[] = [];
  if (entry.rseq) {
    let s = 0;
    for (const part of entry.rseq.split(',')) seqs.push((s += Number(part)));
  }
  return { ids, seqs };
}

/**
 * Calls `fn` with the account, id and message sequence of every record a usage entry
 * charged, paired with the deltas as ShardLogDoc.rids documents. A compacted entry has none.
 */
export function forEachRecord(entry: Pick<ShardLogDoc, 'rids' | 'rseq' | 'deltas'>, fn: (account: string, id: string, streamSeq: number) => void): void {
  const { ids, seqs } = unpackRecords(entry);
  let i = 0;
  for (const { a, n } of deltasOf(entry)) {
    const end = Math.min(i + n, ids.length);
    for (; i < end; i++) fn(a, ids[i]!, seqs[i] ?? 0);
  }
}

/**
 * The records of a usage entry as the dedup horizon keeps them: `[recordKey, +sequence]`
 * for those charged, `[recordKey, -sequence]` for those refused.
 */
export function horizonKeys(entry: Pick<ShardLogDoc, 'rids' | 'rseq' | 'deltas' | 'refused'>): [string, number][] {
  const keys: [string, number][] = [];
  forEachRecord(entry, (account, id, s) => keys.push([recordKey(account, id), s]));
  for (const r of entry.refused ?? []) keys.push([recordKey(r.a, r.id), -r.s]);
  return keys;
}

/** Records charged and duplicates counted, as sumShardLog counts them. */
export interface LogTotals {
  charged: number;
  duplicates: number;
}

/** Where a shard's read model stands: the log position, the log's totals there, and the recent hours' charges (RecentUsage.pack). */
export interface ModelPosition extends LogTotals {
  seq: number;
  /** RecentUsage.pack of the shard; absent: none. */
  recent?: string;
}

/** One log entry's records inside the dedup horizon, as `horizonKeys` gives them. */
export interface HorizonBatch {
  at: number;
  keys: [string, number][];
}

export interface ShardSnapshot {
  /** Last written log position (0 = empty shard). */
  seq: number;
  checkpoint: number;
  accounts: AccountDoc[];
  /** Log entries after the checkpoint, ascending: replayed onto the projections. */
  tail: ShardLogDoc[];
  /**
   * Records charged or refused since `idsSince` (the dedup horizon), entry by entry in log
   * order. Usage entries only: folded ledger ids are in `folded`.
   */
  horizon: HorizonBatch[];
  /** Folded entries refused as `amount_out_of_range` (answered so again when retried). */
  refusedFolds?: Set<string>;
  /** Records charged and duplicates counted over the whole log of the shard (what stats reports). */
  totals?: LogTotals;
  /** Ids of every ledger entry and allocation the shard log has folded, whatever their age. */
  folded?: Set<string>;
  /** Ledger entries and allocations of the shard not folded yet: the owner folds them first. */
  unfolded?: FoldedEntry[];
}
