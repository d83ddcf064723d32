import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdSet } from '../../../shared/domain/index.js';

describe('IdSet', () => {
  it('says true for a first id and false for every repeat, exactly like a Set', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 20 }), { maxLength: 300 }), fc.array(fc.nat(), { maxLength: 300 }), (ids, picks) => {
        const stream = [...ids, ...picks.map((p) => ids[p % Math.max(1, ids.length)] ?? 'x')];
        const set = new Set<string>();
        const mine = new IdSet();
        for (const id of stream) {
          const first = !set.has(id);
          set.add(id);
          expect(mine.add(id)).toBe(first);
        }
        expect(mine.size).toBe(set.size);
      }),
    );
  });

  it('keeps 200,000 ids through many rehashes and arena growths, byte path and string path alike', () => {
    const ids = new IdSet();
    // Counted rather than one expect() per id: 200,000 expects took most of the test's time.
    let added = 0;
    for (let i = 0; i < 200_000; i++) if (ids.add(`rec-${i}`)) added++;
    expect(added).toBe(200_000);
    const bytes = Buffer.from('rec-0rec-199999rec-200000', 'latin1');
    expect(ids.addBytes(bytes, 0, 5)).toBe(false);
    expect(ids.addBytes(bytes, 5, 15)).toBe(false);
    expect(ids.addBytes(bytes, 15, 25)).toBe(true);
    expect(ids.add('rec-200000')).toBe(false);
    expect(ids.size).toBe(200_001);
  });

  it('tells apart ids that are prefixes of each other, empty, or long', () => {
    const ids = new IdSet();
    const long = 'x'.repeat(5000);
    for (const id of ['', 'a', 'ab', 'abc', long, `${long}y`]) expect(ids.add(id)).toBe(true);
    for (const id of ['', 'a', 'ab', 'abc', long, `${long}y`]) expect(ids.add(id)).toBe(false);
    expect(ids.add('é')).toBe(true);
    expect(ids.add('é')).toBe(false);
  });
});
