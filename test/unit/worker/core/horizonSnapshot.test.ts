import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeAccounts,
  DEFAULT_LADDER,
  DEFAULT_PRICE_BOOK,
  deltasOf,
  horizonKeys,
  INT64_MAX,
  recordKey,
  type AccountDoc,
  type ShardLogDoc,
  type ShardSnapshot,
  type UsageRecord,
} from '../../../../shared/domain/index.js';
import { snapshotDue } from '../../../../services/worker/core/snapshotPolicy.js';
import { RecordHorizon } from '../../../../services/worker/core/recordHorizon.js';
import { ShardState, type PricingContext } from '../../../../services/worker/core/shardState.js';

const ctx: PricingContext = { priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lowBalanceMicros: 1_000_000n, lateArrivalDays: 35 };
const T0 = Date.parse('2026-11-01T00:00:00Z');
const H = 86_400_000;
const ACCOUNTS = ['a', 'b', 'c'];
const IDS = Array.from({ length: 8 }, (_, i) => `r${i}`);
const empty = (): ShardSnapshot => ({ seq: 0, checkpoint: 0, accounts: [], tail: [], horizon: [] });

/** A record of a message: its content never changes for one (account, id), as a producer's retry would send it. */
interface Sent {
  record: UsageRecord;
  seq: number;
}

/** What a batch carries: a new message, the same message again (redelivery), or the same record in a new message (duplicate). */
const item = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('new' as const), id: fc.constantFrom(...IDS), account: fc.constantFrom(...ACCOUNTS), huge: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('again' as const), pick: fc.nat() }) },
);
type Item = typeof item extends fc.Arbitrary<infer T> ? T : never;
const batches = fc.array(fc.array(item, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 12 });

/** The owner's commit loop on a state that never stops: plans each batch and applies its entry when it writes one. */
class Producer {
  readonly sent: Sent[] = [];
  private nextSeq = 1;
  private readonly content = new Map<string, UsageRecord>();

  batch(items: readonly Item[]): Sent[] {
    return items.map((it) => {
      if (it.kind === 'again' && this.sent.length > 0) return this.sent[it.pick % this.sent.length]!;
      const [id, account, huge] = it.kind === 'new' ? [it.id, it.account, it.huge] : ['r0', 'a', false];
      const key = recordKey(account, id);
      // Costs near Int64's limit get some records refused as amount_out_of_range.
      const record = this.content.get(key) ?? {
        id,
        accountId: account,
        kind: 'other',
        quantity: 1_000_000n,
        appliesTo: 'hero_os_hourly',
        occurredAt: T0,
        costMicros: huge ? INT64_MAX / 2n + 1n : 7n,
        meta: null,
      };
      this.content.set(key, record);
      const sent = { record, seq: this.nextSeq++ };
      this.sent.push(sent);
      return sent;
    });
  }
}

function commit(state: ShardState, sent: readonly Sent[], job: string, now: number): ShardLogDoc | null {
  const planned = state.planUsage(
    sent.map((s) => s.record),
    job,
    now,
    sent.map((s) => s.seq),
  );
  if (planned.charged === 0 && planned.duplicates === 0 && !planned.doc.refused?.length) return null;
  state.apply(planned.doc);
  return planned.doc;
}

/** A takeover's state: the projections the owner wrote, with the horizon from `batches` (and `records` restored). */
function takeover(projections: AccountDoc[], seq: number, log: readonly ShardLogDoc[], records?: RecordHorizon): ShardState {
  const horizon = log.map((e) => ({ at: e.at.getTime(), keys: horizonKeys(e) }));
  const snap: ShardSnapshot = { seq, checkpoint: seq, accounts: projections.map((d) => ({ ...d })), tail: [], horizon };
  return ShardState.fromSnapshot(0, snap, ctx, records).state;
}

/** Every (account, id) of the pool, each as a message seen before (its first and last sequences) and as a new one. */
function probe(producer: Producer): Sent[] {
  const out: Sent[] = [];
  for (const account of ACCOUNTS) {
    for (const id of IDS) {
      const seen = producer.sent.filter((s) => s.record.accountId === account && s.record.id === id);
      const record: UsageRecord = seen[0]?.record ?? {
        id,
        accountId: account,
        kind: 'other',
        quantity: 1_000_000n,
        appliesTo: 'hero_os_hourly',
        occurredAt: T0,
        costMicros: 3n,
        meta: null,
      };
      for (const seq of new Set([seen[0]?.seq, seen.at(-1)?.seq, 10_000, 0])) if (seq !== undefined) out.push({ record, seq });
    }
  }
  return out;
}

/** What each state answers for each probe record on its own: charged, redelivered, duplicate or refused. */
function answers(state: ShardState, sent: readonly Sent[], now: number): unknown[] {
  return sent.map((s) => {
    const p = state.planUsage([s.record], 'probe', now, [s.seq]);
    return [s.record.accountId, s.record.id, s.seq, p.charged, p.duplicates, p.refused, deltasOf(p.doc)];
  });
}

describe('a takeover from a horizon snapshot', () => {
  it('answers every record as a takeover that reads the whole log, and as the owner that never stopped (property)', () => {
    fc.assert(
      fc.property(batches, fc.nat(), batches, (first, cut, then) => {
        const producer = new Producer();
        const live = ShardState.fromSnapshot(0, empty(), ctx).state;
        const log: ShardLogDoc[] = [];
        let chunks: Buffer[] = [];
        let snapSeq = 0;
        const at = cut % (first.length + 1);
        first.forEach((b, i) => {
          const entry = commit(live, producer.batch(b), `j${i}`, T0 + i);
          if (entry) log.push(entry);
          if (i + 1 === at) ({ seq: snapSeq, chunks } = live.snapshotRecords());
        });
        if (at === 0) ({ seq: snapSeq, chunks } = live.snapshotRecords());
        const projections = decodeAccounts(live.takeProjections()!.chunks);
        const full = takeover(projections, live.seq, log);
        const restored = takeover(
          projections,
          live.seq,
          log.filter((e) => e.seq > snapSeq),
          RecordHorizon.restore(chunks),
        );
        expect(restored.idCount).toBe(full.idCount);
        const now = T0 + 1000;
        const want = answers(live, probe(producer), now);
        expect(answers(full, probe(producer), now)).toEqual(want);
        expect(answers(restored, probe(producer), now)).toEqual(want);
        // And they stay alike as the new owner goes on.
        then.forEach((b, i) => {
          const sent = producer.batch(b);
          const entries = [live, full, restored].map((s) => commit(s, sent, `k${i}`, now + i));
          expect(entries[1]).toEqual(entries[0]);
          expect(entries[2]).toEqual(entries[0]);
        });
        expect(answers(restored, probe(producer), now + 100)).toEqual(answers(full, probe(producer), now + 100));
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  it('forgets what is past the horizon as the owner that wrote it would: a snapshot keeps its epochs and times', () => {
    const producer = new Producer();
    const live = ShardState.fromSnapshot(0, empty(), ctx).state;
    const log: ShardLogDoc[] = [];
    const step = H / 64;
    const rounds = 100;
    // A record every H/64, the owner expiring after each (as its flushes do), over 1.5 horizons.
    for (let r = 0; r < rounds; r++) {
      const t = T0 + r * step;
      log.push(commit(live, producer.batch([{ kind: 'new', id: `r${r}`, account: 'a', huge: false }]), `j${r}`, t)!);
      live.expireIds(t - H);
    }
    const { seq, chunks } = live.snapshotRecords();
    const now = T0 + rounds * step;
    const since = now - H;
    const projections = decodeAccounts(live.takeProjections()!.chunks);
    const full = takeover(
      projections,
      seq,
      log.filter((e) => e.at.getTime() >= since),
    );
    const restored = takeover(projections, seq, [], RecordHorizon.restore(chunks));
    for (const s of [full, restored, live]) s.expireIds(since);
    const all = producer.sent;
    expect(answers(restored, all, now)).toEqual(answers(live, all, now));
    const inside = all.filter((_, r) => T0 + r * step >= since);
    expect(inside.length).toBe(64);
    expect(answers(restored, inside, now)).toEqual(answers(full, inside, now));
    // At most 1/32 of a horizon late (and a step): what is older is charged again, after the takeover as before it.
    const past = all.filter((_, r) => T0 + r * step < since - H / 32 - step);
    expect(past.length).toBeGreaterThan(20);
    expect(answers(restored, past, now)).toEqual(answers(full, past, now));
    for (const s of past) expect(restored.planUsage([s.record], 'p', now, [s.seq]).charged).toBe(1);
  });
});

describe('when an owner snapshots its horizon', () => {
  const base = { now: 1_000_000, lastAt: 0, intervalMs: 600_000, added: 10, size: 100 };

  it('after the interval, once anything was added', () => {
    expect(snapshotDue(base)).toBe(true);
    expect(snapshotDue({ ...base, lastAt: base.now - 599_999 })).toBe(false);
    expect(snapshotDue({ ...base, added: 0 })).toBe(false);
    expect(snapshotDue({ ...base, lastAt: -Infinity })).toBe(true);
  });

  it('sooner once 1/16 of the horizon is new, and never for fewer than 65,536 new keys', () => {
    const recent = { ...base, lastAt: base.now - 1000 };
    expect(snapshotDue({ ...recent, added: 312_500, size: 5_000_000 })).toBe(true);
    expect(snapshotDue({ ...recent, added: 312_499, size: 5_000_000 })).toBe(false);
    expect(snapshotDue({ ...recent, added: 65_535, size: 100_000 })).toBe(false);
    expect(snapshotDue({ ...recent, added: 65_536, size: 100_000 })).toBe(true);
  });
});
