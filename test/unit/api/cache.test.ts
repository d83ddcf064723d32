import { describe, expect, it } from 'vitest';
import { Cached, type CacheVersion } from '../../../services/api/operator/cache.js';

function harness(version?: CacheVersion) {
  let now = 0;
  let loads = 0;
  const v = { current: version };
  const cache = new Cached(5000, async () => ++loads, () => now, version ? async () => v.current! : undefined);
  return { cache, v, advance: (ms: number) => (now += ms), loads: () => loads };
}

describe('Cached', () => {
  it('reads once per TTL however many ask at once', async () => {
    const h = harness();
    const got = await Promise.all(Array.from({ length: 100 }, () => h.cache.get()));
    expect(new Set(got)).toEqual(new Set([1]));
    h.advance(4999);
    expect(await h.cache.get()).toBe(1);
    h.advance(1);
    expect(await h.cache.get()).toBe(2);
  });

  it('keeps serving past the TTL while the version tag has not moved', async () => {
    const h = harness({ tag: 'a', settled: true });
    await h.cache.get();
    h.advance(60_000);
    expect(await h.cache.get()).toBe(1);
  });

  it('while records flow, a moved tag is read again only after the TTL', async () => {
    const h = harness({ tag: 'a', settled: false });
    await h.cache.get();
    h.v.current = { tag: 'b', settled: false };
    h.advance(1000);
    expect(await h.cache.get()).toBe(1);
    h.advance(4000);
    expect(await h.cache.get()).toBe(2);
  });

  it('once settled, a moved tag is read again at once, inside the TTL (settled means readable)', async () => {
    const h = harness({ tag: 'a', settled: false });
    await h.cache.get();
    h.v.current = { tag: 'b', settled: true };
    h.advance(10);
    expect(await h.cache.get()).toBe(2);
    h.advance(10);
    expect(await h.cache.get()).toBe(2);
  });
});
