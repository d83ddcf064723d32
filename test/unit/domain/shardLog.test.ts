import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deltasOf, forEachRecord, horizonKeys, packDeltas, packRecords, recordKey, unpackRecords, type AccountDelta } from '../../../shared/domain/index.js';

/**
 * The shard log's format 3 (docs/pipeline.md "How the log stores it"): an entry's ids as
 * the text of one JSON array, their message sequences delta-encoded in one string, and its
 * per-account deltas as lines of text. The earlier formats are not read (a store holding
 * them is refused at start: test/integration/store/logFormat.test.ts).
 */
const id = fc.string({ minLength: 1, maxLength: 64, unit: 'binary' });
const seq = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
const records = fc.array(fc.tuple(id, seq), { maxLength: 300 });

describe('shard log format 3: records', () => {
  it('unpack(pack(ids, seqs)) gives back every id and sequence, in order (any Unicode id, 0 for unknown, up to 2^53)', () => {
    fc.assert(
      fc.property(records, (rs) => {
        const ids = rs.map(([i]) => i);
        const seqs = rs.map(([, s]) => s);
        const packed = packRecords(ids, seqs);
        expect(typeof packed.rids).toBe('string');
        expect(typeof packed.rseq).toBe('string');
        expect(unpackRecords(packed)).toEqual({ ids, seqs });
      }),
      { numRuns: 500 },
    );
  });

  it('consecutive sequences are stored as their differences', () => {
    expect(packRecords(['a', 'b', 'c', 'd'], [5120, 5121, 5122, 9000])).toEqual({ rids: '["a","b","c","d"]', rseq: '5120,1,1,3878' });
    expect(packRecords([], [])).toEqual({ rids: '[]', rseq: '' });
  });

  it('an entry reads its records paired with their accounts, and the horizon keys (refused records negated)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.stringMatching(/^acct-[a-z0-9]{1,8}$/), records), { maxLength: 8 }), (groups) => {
        const deltas: AccountDelta[] = groups.map(([a, rs]) => ({ a, d: -BigInt(rs.length), n: rs.length, t: 0 }));
        const ids = groups.flatMap(([, rs]) => rs.map(([i]) => i));
        const seqs = groups.flatMap(([, rs]) => rs.map(([, s]) => s));
        const refused = [{ a: 'acct-r', id: 'x', s: 7 }];
        const entry = { ...packRecords(ids, seqs), deltas: packDeltas(deltas), refused };
        const read = (entry: Parameters<typeof forEachRecord>[0]) => {
          const out: [string, string, number][] = [];
          forEachRecord(entry, (a, i, s) => out.push([a, i, s]));
          return out;
        };
        const expected = groups.flatMap(([a, rs]) => rs.map(([i, s]) => [a, i, s] as [string, string, number]));
        expect(read(entry)).toEqual(expected);
        expect(horizonKeys(entry)).toEqual([...expected.map(([a, i, s]) => [recordKey(a, i), s]), [recordKey('acct-r', 'x'), -7]]);
      }),
      { numRuns: 200 },
    );
  });

  it('a compacted entry (no ids) has no records', () => {
    const seen: string[] = [];
    forEachRecord({ deltas: packDeltas([{ a: 'acct-1', d: -5n, n: 5, t: 0 }]) }, (_a, i) => seen.push(i));
    expect(seen).toEqual([]);
  });

  it('deltasOf(packDeltas(deltas)) gives back every delta (format 3), exact to the micro at the Int64 ends', () => {
    const delta = fc.record({
      a: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      d: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      n: fc.integer({ min: 0, max: 1_000_000 }),
      t: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    });
    fc.assert(
      fc.property(fc.array(delta, { maxLength: 300 }), (deltas) => {
        const packed = packDeltas(deltas);
        expect(typeof packed).toBe('string');
        expect(deltasOf({ deltas: packed })).toEqual(deltas);
      }),
      { numRuns: 300 },
    );
    expect(deltasOf({})).toEqual([]);
    expect(
      packDeltas([
        { a: 'acct-1', d: -1500n, n: 2, t: 7 },
        { a: 'b', d: 3n, n: 1, t: 9 },
      ]),
    ).toBe('acct-1 -1500 2 7\nb 3 1 9');
  });
});
