import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisGroup } from '../redis/index.js';
import { unpackRecent, type ModelPosition, type RecentHour } from '../domain/index.js';
import { decodeAccount, encodeAccount, type AccountDoc, type LogTotals } from '../store/index.js';

/**
 * The accounts as readers see them (SPEC 9 "settled means readable", SPEC 11 rule 4):
 * one Redis hash per shard, account id -> JSON, written by the shard's owner before it
 * reports a job done, so every read is one O(1) Redis command instead of a scan of the
 * store. A meta hash per shard holds the log position the model is folded through; a
 * write at an older position (a former owner waking up late) changes nothing, and a
 * missing meta means the model is not loaded (Redis lost it): readers then fall back to
 * the store's projections, and stats counts the shard as pending.
 *
 * Keys share a hash tag per shard (`tally:{<namespace>:<shard>}`, shared/redis/keys.ts),
 * so the scripts below touch one slot of a Redis Cluster and the shards spread over its nodes.
 */

const tag = (namespace: string, shard: number): string => redisGroup(namespace, shard);
const accountsKey = (namespace: string, shard: number): string => `${tag(namespace, shard)}:accounts`;
const metaKey = (namespace: string, shard: number): string => `${tag(namespace, shard)}:meta`;

/** Fields per HSET while a full model is staged. */
const STAGE_CHUNK = 1000;

/**
 * Writes changed accounts at position ARGV[1] (with the log's totals, ARGV[2..3], and the
 * shard's recent hours, ARGV[4]) unless a later position is stored; -1 when the model is
 * not loaded (a full write is needed).
 */
const WRITE = `
local stored = redis.call('HGET', KEYS[2], 'seq')
if not stored then return -1 end
if tonumber(stored) > tonumber(ARGV[1]) then return 0 end
if #ARGV > 4 then redis.call('HSET', KEYS[1], unpack(ARGV, 5)) end
redis.call('HSET', KEYS[2], 'seq', ARGV[1], 'charged', ARGV[2], 'duplicates', ARGV[3], 'recent', ARGV[4])
return 1`;

/**
 * Replaces the whole model with the staged hash (KEYS[3]; absent when the shard has no
 * account) unless a later position is stored; -1, changing nothing, when the staged hash
 * does not hold the ARGV[5] accounts staged (Redis emptied while they were written: a
 * model made of what was staged after would be taken as whole, its other accounts
 * missing until each changes again).
 */
const REPLACE = `
local stored = redis.call('HGET', KEYS[2], 'seq')
if stored and tonumber(stored) > tonumber(ARGV[1]) then redis.call('DEL', KEYS[3]) return 0 end
if redis.call('HLEN', KEYS[3]) ~= tonumber(ARGV[5]) then redis.call('DEL', KEYS[3]) return -1 end
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('RENAME', KEYS[3], KEYS[1]) else redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[2], 'seq', ARGV[1], 'charged', ARGV[2], 'duplicates', ARGV[3], 'recent', ARGV[4])
return 1`;

/** `lost`: a full write found its staged accounts gone (Redis emptied meanwhile); nothing changed, write it again. */
export type WriteOutcome = 'written' | 'stale' | 'not_loaded' | 'lost';

/** Where a shard's model stands, as readers see it: the log position it is folded through, and the log's totals there. */
export interface StoredPosition extends LogTotals {
  seq: number;
}

const meta = (p: ModelPosition): string[] => [String(p.seq), String(p.charged), String(p.duplicates), p.recent ?? ''];

export class AccountReadModel {
  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
    readonly shards: number,
  ) {}

  /** Owner: the accounts changed since its last write, now folded through `at.seq`. */
  async write(shard: number, at: ModelPosition, docs: readonly AccountDoc[]): Promise<WriteOutcome> {
    const args: string[] = meta(at);
    for (const doc of docs) args.push(doc._id, encodeAccount(doc));
    const result = (await this.redis.eval(WRITE, 2, accountsKey(this.namespace, shard), metaKey(this.namespace, shard), ...args)) as number;
    return result === 1 ? 'written' : result === 0 ? 'stale' : 'not_loaded';
  }

  /** Owner, after taking a shard (or when the model was lost): every account of the shard, folded through `at.seq`. */
  async replace(shard: number, at: ModelPosition, docs: Iterable<AccountDoc>): Promise<WriteOutcome> {
    const staging = `${tag(this.namespace, shard)}:staging:${randomUUID()}`;
    let batch: string[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await this.redis.hset(staging, ...batch);
      batch = [];
    };
    let staged = 0;
    for (const doc of docs) {
      batch.push(doc._id, encodeAccount(doc));
      staged++;
      if (batch.length >= 2 * STAGE_CHUNK) await flush();
    }
    await flush();
    // A staging hash left by an owner that died here expires on its own.
    await this.redis.pexpire(staging, 600_000);
    const result = (await this.redis.eval(
      REPLACE,
      3,
      accountsKey(this.namespace, shard),
      metaKey(this.namespace, shard),
      staging,
      ...meta(at),
      String(staged),
    )) as number;
    return result === 1 ? 'written' : result === 0 ? 'stale' : 'lost';
  }

  /** One account: the doc, null when the shard has no such account, undefined when the shard's model is not loaded. */
  async read(accountId: string, shard: number): Promise<AccountDoc | null | undefined> {
    const [[, text], [, loaded]] = (await this.redis
      .multi()
      .hget(accountsKey(this.namespace, shard), accountId)
      .exists(metaKey(this.namespace, shard))
      .exec()) as [[null, string | null], [null, number]];
    if (loaded !== 1) return undefined;
    return text === null ? null : decodeAccount(text);
  }

  /** Every account of one shard, or undefined when its model is not loaded. */
  async readShard(shard: number): Promise<AccountDoc[] | undefined> {
    const [[, all], [, loaded]] = (await this.redis.multi().hgetall(accountsKey(this.namespace, shard)).exists(metaKey(this.namespace, shard)).exec()) as [
      [null, Record<string, string>],
      [null, number],
    ];
    if (loaded !== 1) return undefined;
    return Object.values(all).map(decodeAccount);
  }

  /**
   * Each shard's position, or null when its model is not loaded (or Redis did not answer):
   * what stats and caches watch. One command per shard, sent back to back (not a pipeline:
   * on a Redis Cluster the shards' keys live on different nodes).
   */
  async positions(): Promise<(StoredPosition | null)[]> {
    const shards = Array.from({ length: this.shards }, (_, shard) => this.redis.hmget(metaKey(this.namespace, shard), 'seq', 'charged', 'duplicates'));
    const results = await Promise.allSettled(shards);
    return results.map((result) => {
      const [seq, charged, duplicates] = result.status === 'fulfilled' ? result.value : [];
      if (seq === null || seq === undefined) return null;
      return { seq: Number(seq), charged: Number(charged ?? 0), duplicates: Number(duplicates ?? 0) };
    });
  }

  /**
   * Every shard's charges per recent hour and kind (RecentUsage), for the operator's chart:
   * one small field per shard, never an account. A shard whose model is not loaded adds none.
   */
  async recentHours(): Promise<RecentHour[]> {
    const texts = await Promise.all(Array.from({ length: this.shards }, (_, shard) => this.redis.hget(metaKey(this.namespace, shard), 'recent')));
    return texts.flatMap(unpackRecent);
  }
}
