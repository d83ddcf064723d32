import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashKey } from '../../../../services/worker/core/horizon/hash128.js';
import { CHUNK_BYTES, HorizonSnapshotError } from '../../../../services/worker/core/horizon/snapshot.js';
import { RecordHorizon } from '../../../../services/worker/core/recordHorizon.js';

/** The Map the horizon was (exact expiry), loosened where RecordHorizon may keep a key longer. */
class Model {
  /** key -> its sequence, and whether the horizon may have forgotten it already. */
  readonly keys = new Map<string, { seq: number; gone: boolean }>();
  private batches: { at: number; keys: string[] }[] = [];
  private first = 0;

  clone(): Model {
    const m = new Model();
    for (const [k, v] of this.keys) m.keys.set(k, { ...v });
    m.batches = this.batches.map((b) => ({ at: b.at, keys: [...b.keys] }));
    m.first = this.first;
    return m;
  }

  add(at: number, keys: [string, number][]): void {
    const added: string[] = [];
    for (const [key, seq] of keys) {
      if (this.keys.has(key)) continue;
      this.keys.set(key, { seq, gone: false });
      added.push(key);
    }
    if (added.length > 0) this.batches.push({ at, keys: added });
  }

  expire(before: number): void {
    for (; this.first < this.batches.length && this.batches[this.first]!.at < before; this.first++) {
      for (const key of this.batches[this.first]!.keys) {
        const k = this.keys.get(key);
        if (k) k.gone = true;
      }
    }
  }

  /** Checks every key against the horizon, and drops the keys it has forgotten. */
  check(h: RecordHorizon): void {
    for (const [key, { seq, gone }] of this.keys) {
      const got = h.get(key);
      if (gone && got === undefined) this.keys.delete(key);
      else expect([key, got === undefined ? got : got + 0]).toEqual([key, seq + 0]);
    }
    expect(h.size).toBe(this.keys.size);
  }
}

const key = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 12 })).map(([a, r]) => `acct-${a}/r-${r}`);
const seq = fc.oneof(
  fc.constant(0),
  fc.integer({ min: -50, max: 50 }),
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  fc.constantFrom(2 ** 53 - 1, -(2 ** 53 - 1), 1.5),
);
const op = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('add' as const), dt: fc.integer({ min: -3, max: 20 }), keys: fc.array(fc.tuple(key, seq), { maxLength: 8 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), back: fc.integer({ min: -5, max: 60 }) }) },
);

type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

function run(h: RecordHorizon, model: Model, ops: readonly Op[], t0 = 1000): number {
  let at = t0;
  for (const o of ops) {
    if (o.kind === 'add') {
      at += o.dt;
      h.add(at, o.keys);
      model.add(at, o.keys);
    } else {
      const size = h.size;
      const removed = h.expire(at - o.back);
      model.expire(at - o.back);
      expect(removed).toBe(size - h.size);
    }
    model.check(h);
  }
  return at;
}

/** `n` keys like the owner's, added `batch` at a time at t, t+1, ... */
function fill(h: RecordHorizon, from: number, n: number, batch = 1000, t = from): void {
  for (let i = from; i < from + n; i += batch) {
    const keys: [string, number][] = [];
    for (let j = i; j < Math.min(from + n, i + batch); j++) keys.push([`acct-${j % 997}/r-${j}`, j % 7 === 0 ? -(j + 1) : j + 1]);
    h.add(t++, keys);
  }
}

describe('RecordHorizon', () => {
  it('hashes a key as MurmurHash3 x86_128 of its UTF-8 bytes (reference vectors)', () => {
    const out = new Int32Array(4);
    const vectors: [string, number[]][] = [
      ['', [0, 0, 0, 0]],
      ['acct-123/r-456789', [387821617, 593727158, 502376858, 707628273]],
      ['Hello, world!', [648862631, -261911044, 1076576867, 184407235]],
      ['acct-1/é€😀', [70895184, 719620522, 942769823, -1771995882]],
      ['The quick brown fox jumps over the lazy dog', [789939139, -319935385, 1568405100, -437707476]],
    ];
    for (const [k, words] of vectors) {
      hashKey(k, out);
      expect([k, ...out]).toEqual([k, ...words]);
    }
  });

  it('answers like a Map of the keys inside the horizon: the first sequence a key came with, until it expires', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        run(new RecordHorizon(), new Model(), ops);
      }),
      { numRuns: 300 },
    );
  }, 30_000);

  it('answers like the Map across partition merges, with keys re-added after they expired', () => {
    const many = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 1999 })).map(([a, r]) => `acct-${a}/r-${r}`);
    const bulk = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('add' as const),
          dt: fc.integer({ min: 0, max: 20 }),
          keys: fc.array(fc.tuple(many, seq), { maxLength: 600 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), back: fc.integer({ min: -5, max: 60 }) }) },
    );
    fc.assert(
      fc.property(fc.array(bulk, { maxLength: 25 }), (ops) => {
        run(new RecordHorizon(), new Model(), ops);
      }),
      { numRuns: 15 },
    );
  }, 60_000);

  it('forgets everything once every batch is past the horizon', () => {
    const h = new RecordHorizon();
    fill(h, 0, 20_000, 500);
    expect(h.expire(1_000_000)).toBe(20_000);
    expect(h.size).toBe(0);
    expect(h.get('acct-0/r-0')).toBeUndefined();
    expect(h.bytes).toBeLessThan(1_000_000);
    h.add(2_000_000, [['acct-0/r-0', 9]]);
    expect(h.get('acct-0/r-0')).toBe(9);
  });

  it('keeps every key across hundreds of merges, in under 24 bytes a key', { timeout: 30_000 }, () => {
    const h = new RecordHorizon();
    fill(h, 0, 200_000);
    expect(h.size).toBe(200_000);
    for (let j = 0; j < 200_000; j += 7) expect(h.get(`acct-${j % 997}/r-${j}`)).toBe(j % 7 === 0 ? -(j + 1) : j + 1);
    for (let j = 200_000; j < 210_000; j++) expect(h.get(`acct-${j % 997}/r-${j}`)).toBeUndefined();
    fill(h, 0, 1000);
    expect(h.size).toBe(200_000);
    expect(h.bytes / h.size).toBeLessThan(24);
  });

  it('on a rolling horizon, forgets a key at most 1/32 of the horizon late, over more epochs than it has tags', { timeout: 30_000 }, () => {
    const h = new RecordHorizon();
    const H = 64;
    const perStep = 50;
    let next = 0;
    for (let t = 0; t < 1500; t++) {
      const keys: [string, number][] = [];
      for (let i = 0; i < perStep; i++, next++) keys.push([`a/${next}`, next + 1]);
      h.add(t, keys);
      h.expire(t - H);
      if (t % 97 === 0) {
        const oldestKept = (t - H) * perStep;
        for (let j = Math.max(0, oldestKept); j < next; j += 13) expect(h.get(`a/${j}`)).toBe(j + 1);
        const late = (t - H - H / 32 - 2) * perStep;
        for (let j = Math.max(0, late - 500); j < late; j += 7) expect(h.get(`a/${j}`)).toBeUndefined();
      }
    }
    expect(h.size).toBeLessThanOrEqual((H + H / 32 + 2) * perStep);
    expect(h.size).toBeGreaterThanOrEqual((H + 1) * perStep);
  });

  it('keeps sequences exactly, however far apart', () => {
    const h = new RecordHorizon();
    const seqs = [1, -1, 0, -0, 2 ** 31, 2 ** 40, -(2 ** 53 - 1), 2 ** 53 - 1, 7, 3e9];
    h.add(
      0,
      seqs.map((s, i): [string, number] => [`a/${i}`, s]),
    );
    fill(h, 100, 50_000);
    seqs.forEach((s, i) => expect(h.get(`a/${i}`)).toBe(s + 0));
  });
});

describe('RecordHorizon snapshots', () => {
  it('restores a horizon that answers, adds and expires as the one serialized', () => {
    const universe = Array.from({ length: 6 * 13 }, (_, i) => `acct-${Math.floor(i / 13)}/r-${i % 13}`);
    const same = (a: RecordHorizon, b: RecordHorizon): void => {
      expect(b.size).toBe(a.size);
      for (const k of universe) expect([k, b.get(k)]).toEqual([k, a.get(k)]);
    };
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.array(op, { maxLength: 40 }), (before, after) => {
        const h = new RecordHorizon();
        const model = new Model();
        const at = run(h, model, before);
        const restored = RecordHorizon.restore(h.serialize());
        same(h, restored);
        const twin = model.clone();
        run(h, model, after, at);
        run(restored, twin, after, at);
        same(h, restored);
      }),
      { numRuns: 150 },
    );
  }, 30_000);

  it('cuts a large horizon into chunks of at most 4 MiB and restores it from them', { timeout: 30_000 }, () => {
    const h = new RecordHorizon();
    fill(h, 0, 200_000);
    const chunks = h.serialize();
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.byteLength).toBeLessThanOrEqual(CHUNK_BYTES);
    const restored = RecordHorizon.restore(chunks);
    expect(restored.size).toBe(h.size);
    for (let j = 0; j < 200_000; j += 11) expect(restored.get(`acct-${j % 997}/r-${j}`)).toBe(h.get(`acct-${j % 997}/r-${j}`));
    fill(restored, 200_000, 5000, 1000, 400);
    expect(restored.get('acct-600/r-200000')).toBe(200_001);
    expect(restored.size).toBe(h.size + 5000);
  });

  it('refuses a truncated, padded or foreign snapshot', () => {
    const h = new RecordHorizon();
    fill(h, 0, 5000);
    const [chunk] = h.serialize();
    expect(() => RecordHorizon.restore([chunk!.subarray(0, chunk!.byteLength - 1)])).toThrow(HorizonSnapshotError);
    expect(() => RecordHorizon.restore([chunk!, Buffer.alloc(1)])).toThrow(HorizonSnapshotError);
    const foreign = Buffer.from(chunk!);
    foreign[0] = foreign[0]! ^ 0xff;
    expect(() => RecordHorizon.restore([foreign])).toThrow(HorizonSnapshotError);
  });
});
