import { describe, expect, it } from 'vitest';
import { SpeedPacer, TokenBucket } from '../../../services/cli/load/pacing.js';
import { recordKeys } from '../../../services/cli/load/recordKeys.js';
import { lineBatches } from '../../../services/cli/load/lineBatches.js';

describe('TokenBucket', () => {
  it('allows a burst, then one token per 1/rate seconds', () => {
    const b = new TokenBucket(100, 3);
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 0]);
    expect(b.take(0)).toBe(10);
    expect(b.take(10)).toBe(0);
    expect(b.take(15)).toBe(5);
  });

  it('holds the long-run rate exactly on a fake clock', () => {
    const b = new TokenBucket(1000);
    let now = 0;
    let sent = 0;
    while (now < 10_000) {
      const wait = b.take(now);
      if (wait === 0) sent++;
      else now += wait;
    }
    // 10 s at 1000/s plus the initial burst of 100.
    expect(sent).toBeGreaterThanOrEqual(10_000);
    expect(sent).toBeLessThanOrEqual(10_101);
  });
});

describe('SpeedPacer', () => {
  it('waits for occurred_at gaps divided by speed, and sends late records at once', () => {
    const p = new SpeedPacer(10);
    expect(p.delay(1_000_000, 0)).toBe(0);
    expect(p.delay(1_010_000, 0)).toBe(1000);
    expect(p.delay(1_005_000, 500)).toBe(0);
    expect(p.delay(1_020_000, 1500)).toBe(500);
  });
});

describe('recordKeys', () => {
  it('finds the id, account and occurred_at of v1 records and CloudEvents, and nothing in broken payloads', () => {
    expect(recordKeys('{"id":"r1","occurred_at":"2026-11-25T00:00:00Z"}')).toEqual({ id: 'r1', occurredAt: Date.parse('2026-11-25T00:00:00Z') });
    expect(recordKeys('{"specversion":"1.0","id":"ce","time":"2026-11-25T00:00:00Z","data":{}}')).toEqual({
      id: 'ce',
      occurredAt: Date.parse('2026-11-25T00:00:00Z'),
    });
    expect(recordKeys('{"specversion":"1.0","id":"ce","data":{"id":"inner"}}')).toEqual({ id: 'inner' });
    expect(recordKeys('{"id":"r1","account_id":"acct-1"}')).toEqual({ id: 'r1', accountId: 'acct-1' });
    expect(recordKeys('{"specversion":"1.0","id":"ce","subject":"acct-2","data":{}}')).toEqual({ id: 'ce', accountId: 'acct-2' });
    expect(recordKeys('{"specversion":"1.0","subject":"acct-2","data":{"id":"r","account_id":"acct-3"}}')).toEqual({ id: 'r', accountId: 'acct-3' });
    expect(recordKeys('{"id":"r1","account_id":"a.b"}')).toEqual({ id: 'r1' });
    expect(recordKeys('{"id":"has space"}')).toEqual({});
    expect(recordKeys('{"id":')).toEqual({});
  });
});

describe('lineBatches', () => {
  async function* chunks(xs: (string | Buffer)[]) {
    yield* xs;
  }
  const all = async (xs: (string | Buffer)[]) => {
    const batches: string[][] = [];
    for await (const b of lineBatches(chunks(xs))) batches.push(b);
    return batches;
  };

  it('yields the lines of each chunk together, as readline would split them', async () => {
    expect(await all(['a\r\nb\n\nc', 'd\ne', '', 'f\n'])).toEqual([['a', 'b', ''], ['cd'], ['ef']]);
    expect(await all(['x\ny'])).toEqual([['x'], ['y']]);
    expect(await all(['\n'])).toEqual([['']]);
    expect(await all([])).toEqual([]);
  });

  it('keeps a multi-byte character split across chunks whole', async () => {
    const bytes = Buffer.from('é✓\nz', 'utf8');
    expect(await all([...bytes].map((b) => Buffer.from([b])))).toEqual([['é✓'], ['z']]);
  });
});
