import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planBalance } from '../../../services/worker/leasePolicy.js';

describe('planBalance (the lease balancer)', () => {
  it('a lone worker wants every shard, tried from the random start around', () => {
    expect(planBalance({ shards: 4, live: 1, held: [], start: 2 })).toEqual({ target: 4, release: [], candidates: [2, 3, 0, 1] });
  });

  it('a worker above its share hands over the shards it took last, and tries no new one', () => {
    const plan = planBalance({ shards: 4, live: 2, held: [3, 0, 1, 2], start: 0 });
    expect(plan.target).toBe(2);
    expect(plan.release).toEqual([1, 2]);
    expect(plan.candidates).toEqual([]);
  });

  it('a worker below its share tries only shards it does not hold', () => {
    expect(planBalance({ shards: 5, live: 2, held: [4], start: 3 })).toEqual({ target: 3, release: [], candidates: [3, 0, 1, 2] });
  });

  it('live 0 (a heartbeat that counted nobody) is taken as this worker alone', () => {
    expect(planBalance({ shards: 3, live: 0, held: [], start: 0 }).target).toBe(3);
  });

  it("the workers' shares cover every shard, none holds more than ceil(shards/live), and no shard is both kept and tried (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 16 }), fc.nat(), fc.nat(), (shards, live, heldSeed, start) => {
        const held = Array.from({ length: shards }, (_, i) => i).filter((i) => (heldSeed >> (i % 30)) & 1);
        const plan = planBalance({ shards, live, held, start });
        expect(plan.target * live).toBeGreaterThanOrEqual(shards);
        const kept = held.filter((s) => !plan.release.includes(s));
        expect(kept.length).toBeLessThanOrEqual(plan.target);
        expect(new Set([...kept, ...plan.candidates]).size).toBe(kept.length + plan.candidates.length);
        expect(new Set([...held, ...plan.candidates]).size).toBe(shards);
      }),
      { numRuns: 300 },
    );
  });
});
