import { describe, expect, it } from 'vitest';
import { Cached, KeyedCache } from '../../../services/api/cache.js';

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
