import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectBus, foldSubject, type Bus } from '../../../shared/bus/index.js';
import { newAccount, type AccountDoc, type FoldedEntry } from '../../../shared/domain/index.js';
import { requestFold, type FoldAnswer } from '../../../shared/app/index.js';
import { FoldSigner, redisConnection, shardOf, type ShardJobResult } from '../../../shared/queue/index.js';
import { redisKey } from '../../../shared/redis/index.js';
import { FoldDesk } from '../../../services/worker/foldDesk.js';
import { testLogger } from '../../support/servers.js';

const SHARDS = 4;
/** An account on `shard`: the first of acct-<tag>-0, -1, ... that hashes there. */
function accountOn(shard: number, tag: string): string {
  for (let i = 0; ; i++) if (shardOf(`acct-${tag}-${i}`, SHARDS) === shard) return `acct-${tag}-${i}`;
}
const entry = (id: string, account: string, micros = 1_000n): FoldedEntry => ({ id: `payment:${id}`, a: account, d: micros, paid: 0 });

/** A gate the fake owner's fold waits on, so requests pile up behind a commit in flight. */
function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

/**
 * Fold requests over real NATS and Redis (decision 013), against a fake owner: what the
 * desk hands it and what each requester is told. The owner's fold itself is
 * ShardOwner.processFolds, tested with the worker; the API's use of it, in api/webhook.
 */
describe('fold requests', () => {
  const servers = inject('servers');
  let bus: Bus;
  let redis: Redis;
  let namespace = '';
  let n = 0;

  beforeAll(async () => {
    bus = await connectBus(servers.natsUrl, 'tally-test-folds', servers.natsSecurity);
    redis = redisConnection(servers.redisUrl);
  });
  afterAll(async () => {
    redis?.disconnect();
    await bus?.close();
  });

  /** A desk on `shard` under a fresh namespace (its own key), and the folds its fake owner was asked for. */
  function desk(shard: number, fold?: (entries: readonly FoldedEntry[]) => Promise<ShardJobResult>, now: () => number = Date.now) {
    namespace = `folds${process.pid}x${++n}`;
    const calls: FoldedEntry[][] = [];
    // The fake owner's accounts: each entry folded adds its amount.
    const accounts = new Map<string, AccountDoc>();
    const d = new FoldDesk({
      nc: bus.nc,
      shard,
      shards: SHARDS,
      signer: new FoldSigner(redis, namespace, now),
      logger: testLogger(),
      account: (id) => accounts.get(id),
      fold: async (entries) => {
        calls.push([...entries]);
        for (const e of entries) {
          const doc = accounts.get(e.a) ?? newAccount(e.a, shard, new Date(0));
          accounts.set(e.a, { ...doc, balance_micros: doc.balance_micros + e.d });
        }
        return fold ? fold(entries) : { seq: calls.length, charged: entries.length, duplicates: 0 };
      },
    });
    return { desk: d, calls, signer: new FoldSigner(redis, namespace) };
  }

  it('folds the requests that arrive during a commit together, and tells each requester about its own entries', async () => {
    // Shard 3 only in this test: a desk of another test still listening cannot take these.
    const account = accountOn(3, 'group');
    const first = gate();
    const {
      desk: d,
      calls,
      signer,
    } = desk(3, async (entries) => {
      if (calls.length === 1) await first.opened;
      // The fake owner refuses the entry named "big" (amount_out_of_range).
      const refused = entries.flatMap((e, i) => (e.id === 'payment:big' ? [i] : []));
      return { seq: calls.length, charged: entries.length - refused.length, duplicates: 0, ...(refused.length ? { refused } : {}) };
    });
    try {
      const a = requestFold(bus.nc, signer, 3, [entry('a', account)], 5_000);
      await expect.poll(() => calls.length).toBe(1);
      const rest = [
        requestFold(bus.nc, signer, 3, [entry('b', account), entry('big', account)], 5_000),
        requestFold(bus.nc, signer, 3, [entry('c', account)], 5_000),
        requestFold(bus.nc, signer, 3, [entry('big', account), entry('d', account), entry('e', account)], 5_000),
      ];
      // All three are waiting behind the first commit before it ends.
      await new Promise((r) => setTimeout(r, 200));
      expect(calls.length).toBe(1);
      first.open();
      // Each answer carries the account as the owner holds it after the commit that folded it.
      const balance = (answer: FoldAnswer) => (answer.state === 'folded' ? answer.accounts.get(account)?.balance_micros : answer.state);
      const answerA = await a;
      expect(answerA).toMatchObject({ state: 'folded', refused: [] });
      expect(balance(answerA)).toBe(1_000n);
      const answers = await Promise.all(rest);
      expect(answers.map((x) => (x.state === 'folded' ? x.refused : x.state))).toEqual([[1], [], [0]]);
      expect(answers.map(balance)).toEqual([7_000n, 7_000n, 7_000n]);
      expect(calls.map((c) => c.map((e) => e.id))).toEqual([['payment:a'], ['payment:b', 'payment:big', 'payment:c', 'payment:big', 'payment:d', 'payment:e']]);
      expect(calls[1]![0]).toEqual(entry('b', account));
      expect(d.counts).toEqual({ requests: 4, commits: 2 });
    } finally {
      await d.close();
    }
  });

  it('refuses a request not signed with the deployment key, one with an account of another shard, and folds nothing', async () => {
    const { desk: d, calls, signer } = desk(2);
    try {
      const stranger = new FoldSigner(redis, `${namespace}-other`);
      const forged = await requestFold(bus.nc, stranger, 2, [entry('forged', accountOn(2, 'sig'), 10n ** 12n)], 5_000);
      expect(forged).toMatchObject({ state: 'failed', error: expect.stringMatching(/not signed/) });
      // Not even a well-formed body: no signature line at all.
      const raw = await bus.nc.request(foldSubject(2), JSON.stringify({ entries: [{ id: 'payment:x', a: accountOn(2, 'sig'), d: '5' }] }), { timeout: 5_000 });
      expect(JSON.parse(raw.string())).toMatchObject({ code: 'bad_signature' });
      const foreign = await requestFold(bus.nc, signer, 2, [entry('elsewhere', accountOn(1, 'sig'))], 5_000);
      expect(foreign).toMatchObject({ state: 'failed', error: expect.stringMatching(/not of shard 2/) });
      expect(calls).toEqual([]);
    } finally {
      await d.close();
    }
  });

  it('answers no_owner once the desk is closed, and a request waiting at the close is refused, not folded', async () => {
    const account = accountOn(1, 'close');
    const first = gate();
    const {
      desk: d,
      calls,
      signer,
    } = desk(1, async (entries) => {
      await first.opened;
      return { seq: 1, charged: entries.length, duplicates: 0 };
    });
    const inFlight = requestFold(bus.nc, signer, 1, [entry('in-flight', account)], 5_000);
    await expect.poll(() => calls.length).toBe(1);
    const waiting = requestFold(bus.nc, signer, 1, [entry('waiting', account)], 5_000);
    await new Promise((r) => setTimeout(r, 200));
    const closed = d.close();
    first.open();
    await closed;
    expect(await inFlight).toMatchObject({ state: 'folded', refused: [] });
    expect(await waiting).toMatchObject({ state: 'failed', error: expect.stringMatching(/handed over/) });
    expect(await requestFold(bus.nc, signer, 1, [entry('late', account)], 5_000)).toEqual({ state: 'no_owner' });
    expect(calls.map((c) => c.map((e) => e.id))).toEqual([['payment:in-flight']]);
  });

  it('moves every process to a new key after Redis lost it: requests in between fail, none is folded unsigned', async () => {
    const account = accountOn(0, 'key');
    let now = 0;
    const clock = () => now;
    const { desk: d, calls } = desk(0, undefined, clock);
    const api = new FoldSigner(redis, namespace, clock);
    try {
      expect(await requestFold(bus.nc, api, 0, [entry('k1', account)], 5_000)).toMatchObject({ state: 'folded', refused: [] });
      // Redis emptied, then an API process starts: it makes a new key.
      await redis.del(redisKey(namespace, 'fold-key'));
      const restarted = new FoldSigner(redis, namespace, clock);
      // The desk read its key under a second ago: it does not read it again yet.
      expect(await requestFold(bus.nc, restarted, 0, [entry('k2', account)], 5_000)).toMatchObject({ state: 'failed' });
      now += 1_000;
      expect(await requestFold(bus.nc, restarted, 0, [entry('k3', account)], 5_000)).toMatchObject({ state: 'folded', refused: [] });
      // The API process that kept the old key is refused once, and told to read the key again.
      expect(await requestFold(bus.nc, api, 0, [entry('k4', account)], 5_000)).toMatchObject({ state: 'failed', error: expect.stringMatching(/not signed/) });
      expect(await requestFold(bus.nc, api, 0, [entry('k5', account)], 5_000)).toMatchObject({ state: 'folded', refused: [] });
      expect(calls.map((c) => c[0]!.id)).toEqual(['payment:k1', 'payment:k3', 'payment:k5']);
    } finally {
      await d.close();
    }
  });
});
