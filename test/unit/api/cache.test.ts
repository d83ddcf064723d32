import { describe, expect, it } from 'vitest';
import { Cached, KeyedCache, type CacheVersion } from '../../../services/api/cache.js';

const later = <T>(value: T, ms = 5): Promise<T> => new Promise((r) => setTimeout(() => r(value), ms));

describe('Cached', () => {
  it('shares one read among concurrent callers and keeps it for ttlMs', async () => {
    let now = 0;
    let reads = 0;
    const cached = new Cached({ ttlMs: 1000, clock: () => now }, () => later(++reads));
    expect(await Promise.all(Array.from({ length: 100 }, () => cached.get()))).toEqual(Array(100).fill(1));
    now = 999;
    expect(await cached.get()).toBe(1);
    now = 2000;
    expect(await cached.get()).toBe(2);
  });

  it('keeps a value costFactor times as long as its read took, when that is longer than ttlMs', async () => {
    let now = 0;
    let reads = 0;
    const cached = new Cached({ ttlMs: 100, costFactor: 20, clock: () => now }, async () => {
      now += 50; // the read takes 50 ms of the store's time
      return ++reads;
    });
    expect(await cached.get()).toBe(1);
    now += 999;
    expect(await cached.get()).toBe(1);
    now += 2;
    expect(await cached.get()).toBe(2);
  });
});

describe('KeyedCache', () => {
  it('one read per key per interval, however many callers; keys apart', async () => {
    const reads: string[] = [];
    const cache = new KeyedCache<string>({ ttlMs: 1000 }, 10);
    const load = (key: string) => () => {
      reads.push(key);
      return later(`${key}#${reads.length}`);
    };
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => cache.get(`acct-${i % 3}\n100\n`, load(`acct-${i % 3}`))));
    expect(reads.sort()).toEqual(['acct-0', 'acct-1', 'acct-2']);
    expect(new Set(answers).size).toBe(3);
  });

  it('forget drops every key of a prefix, so the next get reads again', async () => {
    let reads = 0;
    const cache = new KeyedCache<number>({ ttlMs: 60_000 }, 10);
    const load = () => later(++reads);
    await cache.get('a\n1\n', load);
    await cache.get('a\n2\n', load);
    await cache.get('ab\n1\n', load);
    cache.forget('a\n');
    expect(await cache.get('a\n1\n', load)).toBe(4);
    expect(await cache.get('ab\n1\n', load)).toBe(3);
  });

  it('holds at most maxKeys keys, dropping the oldest', async () => {
    let reads = 0;
    const cache = new KeyedCache<number>({ ttlMs: 60_000 }, 2);
    const load = () => later(++reads);
    await cache.get('k1', load);
    await cache.get('k2', load);
    await cache.get('k3', load);
    expect(await cache.get('k2', load)).toBe(2);
    expect(await cache.get('k1', load)).toBe(4);
  });
});

describe('Cached with a settled version (SPEC 9)', () => {
  function harness(version: CacheVersion) {
    let now = 0;
    let loads = 0;
    const v = { current: version };
    const cache = new Cached({ ttlMs: 5000, clock: () => now, version: async () => v.current }, async () => ++loads);
    return { cache, v, advance: (ms: number) => (now += ms) };
  }

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

  it('once settled, a moved tag is read again at once, inside the TTL', async () => {
    const h = harness({ tag: 'a', settled: false });
    await h.cache.get();
    h.v.current = { tag: 'b', settled: true };
    h.advance(10);
    expect(await h.cache.get()).toBe(2);
    h.advance(10);
    expect(await h.cache.get()).toBe(2);
  });
});
