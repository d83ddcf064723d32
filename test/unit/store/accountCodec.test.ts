import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAccount, encodeAccount, encodeAccounts, type AccountDoc } from '../../../shared/store/index.js';
import { decodeAccounts } from '../../../shared/store/internal.js';

/**
 * One text form of an account projection, shared by the Redis read model and the store's
 * projection snapshots: every field comes back exactly, money as a bigint (never a float).
 */
const date = fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => new Date(ms));
const account: fc.Arbitrary<AccountDoc> = fc
  .record({
    _id: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
    shard: fc.integer({ min: 0, max: 1023 }),
    seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    balance_micros: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    first_paid_at: fc.option(date),
    last_active_at: fc.option(date),
    discount_tier: fc.constantFrom('none', 'week', 'month'),
    current_plan_id: fc.option(fc.string({ unit: 'binary', maxLength: 40 })),
    vm_quota_total: fc.nat(),
    vm_quota_used: fc.nat(),
    vm_quota_period_end: fc.option(date),
    kyc_verified: fc.boolean(),
    low: fc.boolean(),
    depleted: fc.boolean(),
    created_at: date,
    updated_at: date,
  })
  .chain((doc) => fc.option(fc.nat(), { nil: undefined }).map((plan_seq) => (plan_seq === undefined ? doc : { ...doc, plan_seq })))
  .chain((doc) =>
    fc
      .record(
        {
          usage: fc.string({ unit: 'binary', maxLength: 200 }),
          low_balance_micros: fc.option(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })),
        },
        { requiredKeys: [] },
      )
      .map((extra) => ({ ...doc, ...extra })),
  );

/** The encoding as it was first written (convert each field, then JSON.stringify): the oracle of the hand-written one. */
function encodeReference(doc: AccountDoc): string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (v === undefined) continue;
    out[k] = typeof v === 'bigint' ? v.toString() : v instanceof Date ? v.getTime() : v;
  }
  return JSON.stringify(out);
}

describe('account codec', () => {
  it('decode(encode(doc)) is the doc, for any field values', () => {
    fc.assert(
      fc.property(account, (doc) => {
        expect(decodeAccount(encodeAccount(doc))).toEqual(doc);
      }),
      { numRuns: 500 },
    );
  });

  it('writes exactly the text JSON.stringify of the converted fields gives, in the same key order', () => {
    fc.assert(
      fc.property(account, (doc) => {
        expect(encodeAccount(doc)).toBe(encodeReference(doc));
      }),
      { numRuns: 1000 },
    );
    expect(encodeAccount({} as AccountDoc)).toBe('{}');
  });

  it('a snapshot gives back every account in order, across chunks of at most 4 MiB', () => {
    const docs = fc.sample(account, 200);
    const small = encodeAccounts(docs);
    expect(small.count).toBe(200);
    expect(decodeAccounts(small.chunks)).toEqual(docs);
    // ~60k accounts of ~300 bytes: several chunks, none over the limit, no line split.
    const many = Array.from({ length: 60_000 }, (_, i) => ({ ...docs[i % docs.length]!, _id: `acct-${i}` }));
    const big = encodeAccounts(many);
    expect(big.chunks.length).toBeGreaterThan(1);
    for (const c of big.chunks) expect(c.byteLength).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(decodeAccounts(big.chunks)).toEqual(many);
    expect(encodeAccounts([])).toEqual({ chunks: [], count: 0 });
  }, 30_000); // 60k deep comparisons: ~4 s alone, past vitest's 5 s default on a busy 2-core machine
});
