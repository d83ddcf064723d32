import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DAY_MS, DEFAULT_LADDER, DEFAULT_PRICE_BOOK } from '../../../shared/domain/index.js';
import type { ShardHousekeepingPort } from '../../../services/worker/core/ports.js';
import { ShardHousekeeping, type OutboxTurn } from '../../../services/worker/shardHousekeeping.js';
import { ShardState, type PricingContext } from '../../../services/worker/core/shardState.js';

/** The defaults of CHECKPOINT_INTERVAL_MS and LOG_COMPACT_INTERVAL_MS. */
const CHECKPOINT_EVERY_MS = 10_000;
const COMPACT_EVERY_MS = 3_600_000;
const ctx: PricingContext = { priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lowBalanceMicros: 1_000_000n, lateArrivalDays: 35 };
const T0 = Date.parse('2026-11-01T00:00:00Z');

/** A shard with `entries` usage entries applied, housekeeping over a store that records what it is asked to write. */
function setup() {
  let now = T0;
  let { state } = ShardState.fromSnapshot(0, { seq: 0, checkpoint: 0, accounts: [], tail: [], horizon: [] }, ctx);
  const written: string[] = [];
  let failNext = false;
  const store: ShardHousekeepingPort = {
    writeProjections: async (w) => {
      if (failNext) {
        failNext = false;
        throw new Error('store away');
      }
      written.push(`projections@${w.seq}`);
    },
    writeCheckpoint: async (seq) => void written.push(`checkpoint@${seq}`),
    compact: async (before) => (written.push(`compact<${before.getTime() - T0}`), 0),
  };
  const outbox: OutboxTurn & { blocking: boolean } = { blocking: false, store: async () => undefined, publish: async () => undefined };
  const hk = new ShardHousekeeping(0, {
    store,
    outbox,
    state: () => state,
    logger: pino({ level: 'silent' }),
    dedupHorizonMs: DAY_MS,
    checkpointEveryMs: CHECKPOINT_EVERY_MS,
    compactEveryMs: COMPACT_EVERY_MS,
    clock: () => now,
  });
  let n = 0;
  const commit = () => {
    n++;
    state.apply(
      state.planUsage(
        [{ id: `r${n}`, accountId: 'x', kind: 'other', quantity: 1_000_000n, appliesTo: 'hero_os_hourly', occurredAt: now, costMicros: 1n, meta: null }],
        `j${n}`,
        now,
      ).doc,
    );
  };
  return {
    hk,
    written,
    outbox,
    commit,
    advance: (ms: number) => void (now += ms),
    failNextWrite: () => void (failNext = true),
    reload: () =>
      void ({ state } = ShardState.fromSnapshot(0, { seq: state.seq, checkpoint: state.seq, accounts: [...state.accountDocs()], tail: [], horizon: [] }, ctx)),
  };
}

describe('ShardHousekeeping', () => {
  it('writes a snapshot of changed projections, then the checkpoint at its position', async () => {
    const { hk, written, commit } = setup();
    commit();
    commit();
    await hk.flush();
    expect(written).toEqual(['projections@2', 'checkpoint@2']);
  });

  it('records a checkpoint at most every CHECKPOINT_EVERY_MS, and at every final flush', async () => {
    const { hk, written, commit, advance } = setup();
    commit();
    await hk.flush();
    commit();
    advance(CHECKPOINT_EVERY_MS - 1);
    await hk.flush();
    commit();
    await hk.flush(true);
    advance(CHECKPOINT_EVERY_MS);
    await hk.flush();
    expect(written).toEqual(['projections@1', 'checkpoint@1', 'projections@2', 'projections@3', 'checkpoint@3']);
  });

  it('a flush with nothing changed records the checkpoint only when no other write is under way', async () => {
    const { hk, written, commit } = setup();
    commit();
    const taken = hk.takeWrite()!;
    await hk.flush(true);
    expect(written).toEqual([]);
    await hk.storeWrite(taken);
    await hk.afterWrite(taken, null, true);
    await hk.flush(true);
    expect(written).toEqual(['projections@1', 'checkpoint@1']);
  });

  it('hands a failed snapshot back: the next flush writes it, and no checkpoint passes it meanwhile', async () => {
    const { hk, written, commit, failNextWrite } = setup();
    commit();
    failNextWrite();
    await expect(hk.flush(true)).rejects.toThrow('store away');
    expect(written).toEqual([]);
    await hk.flush(true);
    expect(written).toEqual(['projections@1', 'checkpoint@1']);
  });

  it('takes no snapshot while crossing events wait to be stored', async () => {
    const { hk, written, commit, outbox } = setup();
    commit();
    outbox.blocking = true;
    expect(hk.takeWrite()).toBeNull();
    await hk.flush(true);
    expect(written).toEqual([]);
  });

  it('records nothing for a state the owner has since replaced (reloaded)', async () => {
    const { hk, written, commit, reload } = setup();
    commit();
    const taken = hk.takeWrite()!;
    reload();
    await hk.storeWrite(taken);
    await hk.afterWrite(taken, null, true);
    expect(written).toEqual(['projections@1']);
  });

  it('compacts the log ids past the dedup horizon once an interval, not at takeover', async () => {
    const { hk, written, advance } = setup();
    await hk.flush();
    advance(COMPACT_EVERY_MS);
    await hk.flush();
    await hk.flush();
    expect(written).toEqual([`compact<${COMPACT_EVERY_MS - DAY_MS}`]);
  });
});
