import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  DEFAULT_LADDER,
  DEFAULT_PRICE_BOOK,
  type AccountDoc,
  type EventDoc,
  type TierTransitionDoc,
  type UsageRecord,
} from '../../../shared/domain/index.js';
import { toWire } from '../../../shared/queue/index.js';
import type { OwnerOutbox, ReadModelPort, ShardHousekeepingPort, ShardLedgerPort } from '../../../services/worker/core/ports.js';
import type { PricingContext } from '../../../services/worker/core/shardState.js';
import { ShardOwner } from '../../../services/worker/shardOwner.js';
import { MemoryShardLog } from './core/memoryShardLog.js';

/**
 * The whole shard owner (commit, effects, housekeeping, tick) over ports in memory: the
 * store's log shared by several owners, a read model, an outbox, the ledger beside the log.
 * What the SIGKILL tests prove over real servers, here in milliseconds: takeover and the
 * order in which usage and folds reach the log.
 */
const ctx: PricingContext = { priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lowBalanceMicros: 1_000_000n, lateArrivalDays: 35 };
const T0 = Date.parse('2026-11-01T00:00:00Z');

function rec(id: string, accountId: string, cost: bigint): UsageRecord {
  return { id, accountId, kind: 'other', quantity: 1_000_000n, appliesTo: 'hero_os_hourly', occurredAt: T0, costMicros: cost, meta: null };
}

function world() {
  let now = T0;
  const log = new MemoryShardLog(0, ctx, DAY_MS);
  /** Ledger entries the API wrote (payments): the sweep folds those the log has not. */
  const ledgerEntries = log.ledger;
  const transitions: TierTransitionDoc[] = [];
  const events = new Map<string, EventDoc>();
  const model = { loaded: false, seq: 0, accounts: new Map<string, AccountDoc>() };
  const readModel: ReadModelPort = {
    async replace(_shard, at, docs) {
      if (at.seq < model.seq) return 'stale';
      Object.assign(model, { loaded: true, seq: at.seq, accounts: new Map([...docs].map((d) => [d._id, structuredClone(d)])) });
      return 'written';
    },
    async write(_shard, at, docs) {
      if (!model.loaded) return 'not_loaded';
      if (at.seq < model.seq) return 'stale';
      model.seq = at.seq;
      for (const d of docs) model.accounts.set(d._id, structuredClone(d));
      return 'written';
    },
  };
  const ledger: ShardLedgerPort = {
    unfolded: async (folded) => ledgerEntries.filter((e) => !folded.has(e.id)),
    recordTransitions: async (docs) => void transitions.push(...docs),
    expireAllocations: async () => 0,
  };
  const store: ShardHousekeepingPort = { writeProjections: async () => undefined, writeCheckpoint: async () => undefined, compact: async () => 0 };
  const owner = () => {
    const unstored: EventDoc[] = [];
    const outbox: OwnerOutbox = {
      get blocking() {
        return unstored.length > 0;
      },
      add: (e) => void unstored.push(...e),
      adoptUnpublished: async () => undefined,
      store: async () => void unstored.splice(0).forEach((e) => events.set(e._id, e)),
      deliver: async () => void unstored.splice(0).forEach((e) => events.set(e._id, e)),
      publish: async () => undefined,
    };
    return new ShardOwner(0, {
      log: log.port(),
      store,
      ledger,
      outbox,
      readModel,
      snapshots: { afterApply: () => undefined, settled: async () => undefined },
      logger: pino({ level: 'silent' }),
      ladder: DEFAULT_LADDER,
      dedupHorizonMs: DAY_MS,
      checkpointEveryMs: 10_000,
      compactEveryMs: 3_600_000,
      clock: () => now,
    });
  };
  const usage = (o: ShardOwner, job: string, sent: [UsageRecord, number][]) =>
    o.processUsage(
      sent.map(([r, s]) => toWire(r, now, s)),
      job,
    );
  return { log, owner, usage, model, ledgerEntries, transitions, events, advance: (ms: number) => void (now += ms) };
}

describe('ShardOwner over ports in memory', () => {
  it('takeover: the new owner fences, the former one loses its next step, reloads, and charges only what is new', async () => {
    const { log, owner, usage, model } = world();
    const a = owner();
    await a.open();
    expect(await usage(a, 'j1', [[rec('r1', 'x', 5n), 1]])).toEqual({ seq: 1, charged: 1, duplicates: 0 });
    const b = owner();
    await b.open();
    await b.catchUp();
    // The former owner still holds a job (r1 redelivered with r2): its step 2 is the fence's.
    expect(
      await usage(a, 'j2', [
        [rec('r1', 'x', 5n), 1],
        [rec('r2', 'x', 7n), 2],
      ]),
    ).toEqual({ seq: 3, charged: 1, duplicates: 0 });
    expect(log.list().map((e) => e.job)).toEqual(['j1', 'fence', 'j2']);
    expect(log.charged()).toBe(2);
    // b's next commit finds a's entry the same way, and the read model never goes back.
    expect(
      await usage(b, 'j3', [
        [rec('r2', 'x', 7n), 2],
        [rec('r3', 'x', 1n), 3],
      ]),
    ).toEqual({ seq: 4, charged: 1, duplicates: 0 });
    expect(model.seq).toBe(4);
    expect(model.accounts.get('x')?.balance_micros).toBe(-13n);
  });

  it('a dropped owner (lease lost) reloads at its next job instead of using its old view', async () => {
    const { owner, usage, model } = world();
    const a = owner();
    const b = owner();
    await a.open();
    await b.open();
    await usage(b, 'j1', [[rec('r1', 'x', 5n), 1]]);
    a.drop();
    expect(await usage(a, 'j2', [[rec('r1', 'x', 5n), 1]])).toEqual({ seq: null, charged: 0, duplicates: 0 });
    expect(model.accounts.get('x')?.balance_micros).toBe(-5n);
  });

  it('folds: a ledger entry left unfolded is folded at open before any usage, a repeat of it folds and writes nothing (no record duplicate)', async () => {
    const { log, owner, usage, model, ledgerEntries } = world();
    ledgerEntries.push({ id: 'payment:p1', a: 'x', d: 10_000_000n, paid: T0 });
    const a = owner();
    await a.open();
    expect(log.list().map((e) => e.job)).toEqual(['sweep-0']);
    await usage(a, 'j1', [[rec('r1', 'x', 4_000_000n), 1]]);
    expect(await a.processFolds([{ id: 'payment:p1', a: 'x', d: 10_000_000n, paid: T0 }], 'fold-again')).toEqual({ seq: null, charged: 0, duplicates: 0 });
    expect(model.accounts.get('x')).toMatchObject({ balance_micros: 6_000_000n, first_paid_at: new Date(T0) });
    // A second owner taking over sweeps nothing: the log holds the fold.
    const b = owner();
    await b.open();
    expect(log.list().map((e) => [e.job, e.folds.length])).toEqual([
      ['sweep-0', 1],
      ['j1', 0],
    ]);
  });

  it('a payment, then usage crossing the low balance and zero: each crossing event once, and a takeover replaying the log derives the same ids', async () => {
    const { owner, usage, model, events } = world();
    const a = owner();
    await a.open();
    await a.processFolds([{ id: 'payment:p1', a: 'x', d: 2_000_000n, paid: T0 }], 'fold-1');
    await usage(a, 'j1', [[rec('r1', 'x', 1_500_000n), 1]]);
    await usage(a, 'j2', [[rec('r2', 'x', 600_000n), 2]]);
    expect(model.accounts.get('x')?.balance_micros).toBe(-100_000n);
    expect([...events.values()].map((e) => e.type)).toEqual(['low_balance', 'depleted']);
    // A takeover replays the log: the same events by id, nothing new.
    const b = owner();
    await b.open();
    expect(events.size).toBe(2);
  });

  it('a tick records tier transitions through the ledger port and folds the change into the log', async () => {
    const { log, owner, transitions, model, advance } = world();
    const a = owner();
    await a.open();
    await a.processFolds([{ id: 'payment:p1', a: 'x', d: 1_000_000n, paid: T0 }], 'fold-1');
    advance(400 * DAY_MS);
    const result = await a.processTick('t1', T0 + 400 * DAY_MS, 'tick-1');
    expect(result.tick?.tierChanges).toBe(1);
    expect(transitions).toHaveLength(1);
    expect(log.list().at(-1)?.job).toBe('tick-1');
    expect(model.accounts.get('x')?.discount_tier).toBe(transitions[0]!.to);
  });
});
