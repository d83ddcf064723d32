import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { SpeedPacer, TokenBucket } from '../../../services/cli/load/pacing.js';
import { formatRecordedLine } from '../../../shared/domain/index.js';
import { recordKeys } from '../../../services/cli/load/recordKeys.js';
import { runReplay } from '../../../services/cli/load/replay.js';
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

/** A JetStream client that acks after a tick, remembering what it was sent and the most acks ever pending. */
function fakeJs(fail?: (subject: string) => boolean) {
  const seen = new Set<string>();
  const sent: { subject: string; msgID?: string; headers?: string }[] = [];
  let pending = 0;
  let maxPending = 0;
  const js = {
    publish(subject: string, _payload: string, opts: { msgID?: string; headers?: { get(k: string): string } } = {}): Promise<PubAck> {
      pending++;
      maxPending = Math.max(maxPending, pending);
      sent.push({ subject, ...(opts.msgID ? { msgID: opts.msgID } : {}), ...(opts.headers ? { headers: opts.headers.get('X-Trace') } : {}) });
      return new Promise((resolve, reject) =>
        setImmediate(() => {
          pending--;
          if (fail?.(subject)) return reject(new Error('503 no responders'));
          const duplicate = opts.msgID !== undefined && seen.has(opts.msgID);
          if (opts.msgID) seen.add(opts.msgID);
          resolve({ stream: 'USAGE', seq: sent.length, duplicate, domain: '' } as PubAck);
        }),
      );
    },
  };
  return { js: js as unknown as JetStreamClient, sent, maxPending: () => maxPending };
}

async function* lines(xs: string[]) {
  yield* xs;
}
const rec = (id: string, extra = {}) =>
  formatRecordedLine('usage.a', JSON.stringify({ id, account_id: 'a', occurred_at: '2026-11-25T00:00:00Z' }), undefined, extra);

describe('runReplay', () => {
  it('keeps at most `window` acks pending, and reports sent, acked, duplicates, errors and skipped lines', async () => {
    const fake = fakeJs((s) => s === 'usage.fail');
    const input = [...Array.from({ length: 500 }, (_, i) => rec(`r${i}`)), rec('r1'), rec('r2'), 'not json', '', formatRecordedLine('usage.fail', '{}')];
    const report = await runReplay({ js: fake.js, lines: lines(input), window: 16 });
    expect(fake.maxPending()).toBe(16);
    expect(report).toMatchObject({ lines: 505, skipped: 2, sent: 503, acked: 502, duplicates: 2, errors: 1, first_error: '503 no responders' });
  });

  it('sets Nats-Msg-Id to <account_id>/<id> where the record parses (over a recorded bare id), else the line header; --no-msg-id leaves it out; other headers pass through', async () => {
    const input = [
      rec('r1'),
      formatRecordedLine('usage.a', '{"id":"r2","account_id":"a"}', { 'Nats-Msg-Id': 'r2', 'X-Trace': 't1' }),
      formatRecordedLine('usage.a', '{"id":"r3"}', { 'Nats-Msg-Id': 'hdr' }),
      formatRecordedLine('usage.a', '{"id":'),
    ];
    const a = fakeJs();
    await runReplay({ js: a.js, lines: lines(input) });
    expect(a.sent).toEqual([
      { subject: 'usage.a', msgID: 'a/r1' },
      { subject: 'usage.a', msgID: 'a/r2', headers: 't1' },
      { subject: 'usage.a', msgID: 'hdr' },
      { subject: 'usage.a' },
    ]);
    const b = fakeJs();
    await runReplay({ js: b.js, lines: lines(input), msgId: false });
    expect(b.sent).toEqual([{ subject: 'usage.a' }, { subject: 'usage.a', headers: 't1' }, { subject: 'usage.a' }, { subject: 'usage.a' }]);
  });

  it('the same id on two accounts is two Nats-Msg-Ids, so JetStream keeps both (issue #27 §4)', async () => {
    const fake = fakeJs();
    const same = (account: string) => formatRecordedLine(`usage.${account}`, JSON.stringify({ id: 'r1', account_id: account }));
    const report = await runReplay({ js: fake.js, lines: lines([same('a'), same('b'), same('a')]) });
    expect(fake.sent.map((s) => s.msgID)).toEqual(['a/r1', 'b/r1', 'a/r1']);
    expect(report).toMatchObject({ acked: 3, duplicates: 1 });
  });

  it('paces by the token bucket on an injected clock', async () => {
    let now = 0;
    const slept: number[] = [];
    const fake = fakeJs();
    const report = await runReplay({
      js: fake.js,
      lines: lines(Array.from({ length: 300 }, (_, i) => rec(`r${i}`))),
      rate: 100,
      clock: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
    });
    // A burst of 10, then 290 tokens at 100/s.
    expect(now).toBeGreaterThanOrEqual(2900);
    expect(now).toBeLessThanOrEqual(2910);
    expect(report.sent).toBe(300);
    expect(report.rate).toBe(Math.round(300 / 2.9));
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

describe('runReplay with batches', () => {
  it('publishes batches like single lines, and still keeps at most `window` acks pending', async () => {
    const fake = fakeJs();
    async function* batches() {
      for (let b = 0; b < 10; b++) yield Array.from({ length: 100 }, (_, i) => rec(`b${b}-${i}`));
    }
    const report = await runReplay({ js: fake.js, lines: batches(), window: 64 });
    expect(fake.maxPending()).toBe(64);
    expect(report).toMatchObject({ lines: 1000, sent: 1000, acked: 1000, errors: 0 });
    expect(fake.sent.map((s) => s.msgID)).toEqual(Array.from({ length: 1000 }, (_, i) => `a/b${Math.floor(i / 100)}-${i % 100}`));
  });
});
