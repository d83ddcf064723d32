import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { redisConnection } from '../../../shared/queue/index.js';
import { AccountReadModel } from '../../../shared/readModel/index.js';
import type { AccountDoc } from '../../../shared/store/index.js';
import { newAccount } from '../../../shared/domain/index.js';

const account = (id: string, balance: bigint): AccountDoc => ({
  ...newAccount(id, 0, new Date(0)),
  seq: 1,
  balance_micros: balance,
  low: false,
  depleted: false,
});

/**
 * A shard owner's full write of the read model (after a takeover, or when Redis lost it)
 * stages every account, then swaps them in. Redis emptied in between (FLUSHALL, a restart
 * without data) must not leave a model that looks whole but holds only what was staged
 * after: a 1M-record chaos run served 2,499 of 10,000 accounts as "no such account" that way.
 */
describe('read model: a full write that Redis empties midway', () => {
  const redis = redisConnection(inject('servers').redisUrl);
  const namespace = `t_${randomUUID().slice(0, 8)}`;
  const model = new AccountReadModel(redis, namespace, 1);
  afterAll(() => redis.disconnect());

  /** Drops this namespace's staging hashes, as FLUSHALL would (a script, so it runs in order with the writes around it). */
  const DROP_STAGING = "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 0";

  it('reports lost and changes nothing; the next full write makes the whole model', async () => {
    const docs = Array.from({ length: 2500 }, (_, i) => account(`a-${i}`, BigInt(i)));
    let emptied: Promise<unknown> | null = null;
    // 2,500 accounts; once 1,500 are handed out (the first 1,000 staged), the staging hash goes.
    const emptiedMidway: Iterable<AccountDoc> = {
      *[Symbol.iterator]() {
        for (const [i, d] of docs.entries()) {
          // Sent on the writer's own connection, so Redis runs it after the first HSET and before the next.
          if (i === 1500) emptied = redis.eval(DROP_STAGING, 0, `*${namespace}*staging*`);
          yield d;
        }
      },
    };
    expect(await model.replace(0, { seq: 7, charged: 2500, duplicates: 0 }, emptiedMidway)).toBe('lost');
    expect(await emptied).toBe(0);
    // Not loaded: readers fall back to the store, stats counts the shard pending.
    expect(await model.readShard(0)).toBeUndefined();
    expect(await model.read('a-2499', 0)).toBeUndefined();

    expect(await model.replace(0, { seq: 7, charged: 2500, duplicates: 0 }, docs)).toBe('written');
    expect(await model.readShard(0)).toHaveLength(2500);
    expect((await model.read('a-0', 0))?.balance_micros).toBe(0n);
    expect((await model.read('a-2499', 0))?.balance_micros).toBe(2499n);
  });

  it('a shard without accounts is written whole as empty (no staged hash is no loss)', async () => {
    const other = new AccountReadModel(redis, `${namespace}-empty`, 1);
    expect(await other.replace(0, { seq: 1, charged: 0, duplicates: 0 }, [])).toBe('written');
    expect(await other.readShard(0)).toEqual([]);
  });
});
