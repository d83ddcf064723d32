import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deltasOf, horizonKeys, packDeltas, packRecords, type AccountDelta } from '../../../shared/store/index.js';
import { forEachRecord, unpackRecords } from '../../../shared/store/internal.js';

/**
 * The shard log's formats 2 and 3 (docs/pipeline.md "How the log stores it"): an entry's
 * ids as the text of one JSON array, their message sequences delta-encoded in one string,
 * and (3) its per-account deltas as lines of text. Entries of the earlier formats (BSON
 * arrays, subdocuments) are still read, so a store written before needs no migration.
 */
const id = fc.string({ minLength: 1, maxLength: 64, unit: 'binary' });
const seq = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
const records = fc.array(fc.tuple(id, seq), { maxLength: 300 });

describe('shard log format 2', () => {
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

  it('an entry reads the same in either format: the records paired with their accounts, and the horizon keys', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.stringMatching(/^acct-[a-z0-9]{1,8}$/), records), { maxLength: 8 }), (groups) => {
        const accounts: AccountDelta[] = groups.map(([a, rs]) => ({ a, d: -BigInt(rs.length), n: rs.length, t: 0 }));
        const ids = groups.flatMap(([, rs]) => rs.map(([i]) => i));
        const seqs = groups.flatMap(([, rs]) => rs.map(([, s]) => s));
        const refused = [{ a: 'acct-r', id: 'x', s: 7 }];
        const v2 = { ...packRecords(ids, seqs), accounts, refused };
        const v1 = { ids, sseq: seqs, accounts, refused };
        const read = (entry: Parameters<typeof forEachRecord>[0]) => {
          const out: [string, string, number][] = [];
          forEachRecord(entry, (a, i, s) => out.push([a, i, s]));
          return out;
        };
        const expected = groups.flatMap(([a, rs]) => rs.map(([i, s]) => [a, i, s] as [string, string, number]));
        expect(read(v2)).toEqual(expected);
        expect(read(v1)).toEqual(expected);
        expect(horizonKeys(v2)).toEqual(horizonKeys(v1));
      }),
      { numRuns: 200 },
    );
  });

  it('a compacted entry (no ids in either format) has no records', () => {
    const seen: string[] = [];
    forEachRecord({ accounts: [{ a: 'acct-1', d: -5n, n: 5, t: 0 }] }, (_a, i) => seen.push(i));
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
        // An entry of the earlier formats reads as it is.
        expect(deltasOf({ accounts: deltas })).toBe(deltas);
      }),
      { numRuns: 300 },
    );
    expect(deltasOf({})).toEqual([]);
    expect(packDeltas([{ a: 'acct-1', d: -1500n, n: 2, t: 7 }, { a: 'b', d: 3n, n: 1, t: 9 }])).toBe('acct-1 -1500 2 7\nb 3 1 9');
  });
});
