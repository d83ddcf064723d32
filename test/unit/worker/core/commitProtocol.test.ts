import { describe, expect, it } from 'vitest';
import { DAY_MS, DEFAULT_LADDER, DEFAULT_PRICE_BOOK, type UsageRecord } from '../../../../shared/domain/index.js';
import { CommitProtocol, MAX_CONFLICTS, type CommitEffects } from '../../../../services/worker/core/commitProtocol.js';
import type { PricingContext } from '../../../../services/worker/core/shardState.js';
import { MemoryShardLog } from './memoryShardLog.js';

const ctx: PricingContext = { priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lowBalanceMicros: 1_000_000n, lateArrivalDays: 35 };
const T0 = Date.parse('2026-11-01T00:00:00Z');
const HORIZON_MS = DAY_MS;

/** A record costing exactly `cost` micros. */
function rec(id: string, accountId: string, cost: bigint): UsageRecord {
  return { id, accountId, kind: 'other', quantity: 1_000_000n, appliesTo: 'hero_os_hourly', occurredAt: T0, costMicros: cost, meta: null };
}

/** A record and the JetStream sequence of the message that carried it. */
type Sent = [UsageRecord, number];

/** One shard and a clock the tests move; owners are protocols over ports onto the same log. */
function shard() {
  let now = T0;
  const log = new MemoryShardLog(0, ctx, HORIZON_MS);
  const clock = () => now;
  const owner = (beforeAppend?: () => Promise<void>) => {
    const port = log.port(beforeAppend);
    const seen = { loads: 0, lostRaces: [] as number[], applied: [] as number[], answers: [] as boolean[] };
    const effects: CommitEffects = {
      loaded: async () => void seen.loads++,
      lostRace: (entry) => void seen.lostRaces.push(entry.seq),
      applied: (state) => void seen.applied.push(state.seq),
      beforeAnswer: async (appended) => void seen.answers.push(appended),
    };
    const protocol = new CommitProtocol(0, port, effects, clock);
    const usage = (job: string, sent: Sent[]) =>
      protocol.commit(job, (state, at) =>
        state.planUsage(
          sent.map((s) => s[0]),
          job,
          at,
          sent.map((s) => s[1]),
        ),
      );
    const balance = (account: string) => protocol.state?.getAccount(account)?.balance_micros;
    return { protocol, seen, usage, balance };
  };
  /** Another owner takes the next step with an entry of its own (a fence). */
  const rival = () => log.append({ _id: `0:${log.seq + 1}`, shard: 0, seq: log.seq + 1, at: new Date(now), job: 'rival', duplicates: 0, folds: [] });
  type Owner = ReturnType<typeof owner>;
  /** Owners that have each loaded the shard, in order. */
  async function opened(count: 1): Promise<[Owner]>;
  async function opened(count: 2): Promise<[Owner, Owner]>;
  async function opened(count: number): Promise<Owner[]> {
    const list = Array.from({ length: count }, () => owner());
    for (const o of list) await o.protocol.open();
    return list;
  }
  return { log, owner, opened, rival, advance: (ms: number) => void (now += ms) };
}

describe('CommitProtocol', () => {
  it('appends a planned entry, then applies it: the answer is the entry', async () => {
    const { log, opened } = shard();
    const [a] = await opened(1);
    expect(
      await a.usage('j1', [
        [rec('r1', 'x', 5n), 1],
        [rec('r2', 'x', 7n), 2],
      ]),
    ).toEqual({ seq: 1, charged: 2, duplicates: 0 });
    expect(a.seen).toEqual({ loads: 1, lostRaces: [], applied: [1], answers: [false, true] });
    expect(a.balance('x')).toBe(-12n);
    expect(log.list().map((e) => e.job)).toEqual(['j1']);
  });

  it('conflict on append: drops its view, reloads, plans again, and the record is charged once', async () => {
    const { log, opened } = shard();
    const [stale, fresh] = await opened(2);
    expect(await fresh.usage('j-fresh', [[rec('r1', 'x', 5n), 1]])).toEqual({ seq: 1, charged: 1, duplicates: 0 });
    // The stale owner planned step 1 too; it loses it, reloads, and r1 (the same message) is a redelivery.
    expect(
      await stale.usage('j-stale', [
        [rec('r1', 'x', 5n), 1],
        [rec('r2', 'x', 7n), 2],
      ]),
    ).toEqual({ seq: 2, charged: 1, duplicates: 0 });
    expect(stale.seen.lostRaces).toEqual([1]);
    expect(stale.seen.loads).toBe(2);
    expect(stale.balance('x')).toBe(-12n);
    expect(log.charged()).toBe(2);
  });

  it('conflict on append with every record already in the log: no entry, the same answer as a redelivery', async () => {
    const { log, opened } = shard();
    const [stale, fresh] = await opened(2);
    const batch: Sent[] = [
      [rec('r1', 'x', 5n), 1],
      [rec('r2', 'y', 7n), 2],
    ];
    await fresh.usage('j', batch);
    expect(await stale.usage('j', batch)).toEqual({ seq: null, charged: 0, duplicates: 0 });
    expect(stale.seen.answers.at(-1)).toBe(false);
    expect(log.list()).toHaveLength(1);
    expect(log.charged()).toBe(2);
  });

  it('stale owner: another owner appended after this one loaded; the fence finds out and reloads', async () => {
    const { log, opened } = shard();
    const [former, current] = await opened(2);
    // The former owner finishes the job it held, after the current owner loaded.
    await former.usage('j-late', [[rec('r1', 'x', 5n), 1]]);
    expect(current.balance('x')).toBeUndefined();
    expect(await current.protocol.fence()).toEqual({ seq: 2, charged: 0, duplicates: 0 });
    expect(current.seen.lostRaces).toEqual([1]);
    expect(current.balance('x')).toBe(-5n);
    expect(log.list().map((e) => [e.seq, e.job, e.folds.length, e.deltas])).toEqual([
      [1, 'j-late', 0, 'x -5 1 ' + T0],
      [2, 'fence', 0, undefined],
    ]);
  });

  it('fence taken: a former owner loses its step to the fence, reloads, and charges its batch after it, once', async () => {
    const { log, opened } = shard();
    const [former, current] = await opened(2);
    await current.protocol.fence();
    expect(await former.usage('j', [[rec('r1', 'x', 5n), 1]])).toEqual({ seq: 2, charged: 1, duplicates: 0 });
    expect(former.seen.lostRaces).toEqual([1]);
    // The job's message, redelivered to the current owner, whose view (seq 1) is stale in turn.
    expect(await current.usage('j', [[rec('r1', 'x', 5n), 1]])).toEqual({ seq: null, charged: 0, duplicates: 0 });
    expect(current.seen.lostRaces).toEqual([2]);
    expect(current.balance('x')).toBe(-5n);
    expect(log.list().map((e) => e.job)).toEqual(['fence', 'j']);
    expect(log.charged()).toBe(1);
  });

  it('reload with entries beyond the checkpoint: they are replayed onto the projections once, and their records dedup', async () => {
    const { log, opened } = shard();
    const [a] = await opened(1);
    await a.usage('j1', [[rec('r1', 'x', 5n), 1]]);
    await a.usage('j2', [[rec('r2', 'x', 7n), 2]]);
    log.checkpointAt(2);
    await a.usage('j3', [
      [rec('r3', 'y', 11n), 3],
      [rec('r4', 'x', 13n), 4],
    ]);
    const [b] = await opened(1);
    expect(b.protocol.state?.seq).toBe(3);
    expect([b.balance('x'), b.balance('y')]).toEqual([-25n, -11n]);
    expect(b.protocol.state?.totals).toEqual({ charged: 4, duplicates: 0 });
    // Sent again by a producer that retried (other messages): before and after the checkpoint.
    expect(
      await b.usage('j4', [
        [rec('r1', 'x', 5n), 10],
        [rec('r3', 'y', 11n), 11],
        [rec('r5', 'y', 1n), 12],
      ]),
    ).toEqual({ seq: 4, charged: 1, duplicates: 2 });
    expect([b.balance('x'), b.balance('y')]).toEqual([-25n, -12n]);
    expect(log.charged()).toBe(5);
  });

  it('duplicate within the horizon: a record sent again a day less a minute later, to a new owner, is not charged twice', async () => {
    const { log, opened, advance } = shard();
    const [a] = await opened(1);
    await a.usage('j1', [[rec('r1', 'x', 5n), 1]]);
    advance(HORIZON_MS - 60_000);
    const [b] = await opened(1);
    expect(await b.usage('j2', [[rec('r1', 'x', 5n), 2]])).toEqual({ seq: 2, charged: 0, duplicates: 1 });
    // A redelivery of the first message is neither charged nor counted.
    expect(await b.usage('j3', [[rec('r1', 'x', 5n), 1]])).toEqual({ seq: null, charged: 0, duplicates: 0 });
    expect(b.balance('x')).toBe(-5n);
    expect(log.charged()).toBe(1);
  });

  it(`loses the race ${MAX_CONFLICTS} times: the job fails, appending nothing; its retry commits`, async () => {
    const { log, owner, rival } = shard();
    let racing = true;
    const a = owner(async () => {
      if (racing) rival();
    });
    await a.protocol.open();
    await expect(a.usage('j', [[rec('r1', 'x', 5n), 1]])).rejects.toThrow(`shard 0: lost the log race ${MAX_CONFLICTS} times`);
    expect(a.seen.lostRaces).toEqual([1, 2, 3, 4, 5]);
    expect(a.seen.loads).toBe(MAX_CONFLICTS);
    expect(log.charged()).toBe(0);
    racing = false;
    expect(await a.usage('j', [[rec('r1', 'x', 5n), 1]])).toEqual({ seq: 6, charged: 1, duplicates: 0 });
    expect(log.charged()).toBe(1);
  });

  it('runs commits one at a time: two jobs at once plan against each other, not against the same state', async () => {
    const { log, owner } = shard();
    const a = owner(() => new Promise((r) => setTimeout(r, 1)));
    await a.protocol.open();
    const results = await Promise.all([a.usage('j1', [[rec('r1', 'x', 5n), 1]]), a.usage('j2', [[rec('r1', 'x', 5n), 2]]), a.protocol.fence()]);
    expect(results).toEqual([
      { seq: 1, charged: 1, duplicates: 0 },
      { seq: 2, charged: 0, duplicates: 1 },
      { seq: 3, charged: 0, duplicates: 0 },
    ]);
    expect(a.seen.lostRaces).toEqual([]);
    expect(log.appends).toBe(3);
  });

  it('a failed append fails its job only: the next commit runs', async () => {
    const { log, owner } = shard();
    let failures = 1;
    const a = owner(async () => {
      if (failures-- > 0) throw new Error('store away');
    });
    await a.protocol.open();
    const [first, second] = await Promise.allSettled([a.usage('j1', [[rec('r1', 'x', 5n), 1]]), a.usage('j2', [[rec('r2', 'x', 7n), 2]])]);
    expect(first).toMatchObject({ status: 'rejected', reason: new Error('store away') });
    expect(second).toEqual({ status: 'fulfilled', value: { seq: 1, charged: 1, duplicates: 0 } });
    expect(log.list().map((e) => e.job)).toEqual(['j2']);
  });

  it('after a drop (lease lost) the next commit starts from the store', async () => {
    const { opened } = shard();
    const [a, b] = await opened(2);
    await b.usage('j1', [[rec('r1', 'x', 5n), 1]]);
    a.protocol.drop();
    expect(a.protocol.state).toBeNull();
    expect(await a.usage('j2', [[rec('r2', 'x', 7n), 2]])).toEqual({ seq: 2, charged: 1, duplicates: 0 });
    expect(a.seen).toMatchObject({ loads: 2, lostRaces: [] });
    expect(a.balance('x')).toBe(-12n);
  });

  it('counts idle time from its last append, a fence included', async () => {
    const { opened, advance } = shard();
    const [a] = await opened(1);
    await a.protocol.fence();
    advance(61_000);
    expect(a.protocol.idleFor()).toBe(61_000);
    await a.protocol.fence();
    expect(a.protocol.idleFor()).toBe(0);
  });
});
