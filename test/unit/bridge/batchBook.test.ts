import { describe, expect, it } from 'vitest';
import { BatchBook } from '../../../services/bridge/batchBook.js';
import type { WireRecord } from '../../../shared/queue/index.js';

const T0 = Date.parse('2026-11-01T00:00:00Z');

/** Record `n` as the bridge puts it in a job: carried by stream message `100 + n`. */
const wire = (n: number): WireRecord => [`r${n}`, 'acct', 'other', '1000000', 'hero_os_hourly', T0, '1', T0, 100 + n];
const ack = (n: number): string => `$JS.ACK.USAGE.bridge.1.${100 + n}.${n}.0.0`;

function book(batchSize = 3, lingerMs = 250): BatchBook {
  return new BatchBook({ bridge: 'bridge-t', batchSize, lingerMs });
}

/** Adds records `from`..`to` to `shard`; returns what the last add said (batch full). */
function fill(b: BatchBook, shard: number, from: number, to: number, now = T0): boolean {
  let full = false;
  for (let n = from; n <= to; n++) full = b.add(shard, wire(n), ack(n), now);
  return full;
}

describe('BatchBook', () => {
  it('batches per shard until full; a batch taken is a job, with the bridge named for its done message', () => {
    const b = book();
    expect(fill(b, 0, 1, 2)).toBe(false);
    expect(fill(b, 1, 3, 3)).toBe(false);
    expect(fill(b, 0, 4, 4)).toBe(true);
    expect(b.take(0, T0)).toEqual({ jobId: 'bridge-t-1', data: { type: 'usage', bridge: 'bridge-t', records: [wire(1), wire(2), wire(4)] } });
    expect(b.take(0, T0)).toBeNull();
    expect(b.take(1, T0)?.jobId).toBe('bridge-t-2');
    expect([b.pending, b.jobs]).toEqual([4, 2]);
  });

  it('a partly filled batch is due once it has waited lingerMs since its first record; a stop takes every one', () => {
    const b = book(1000, 250);
    fill(b, 0, 1, 1, T0);
    fill(b, 1, 2, 2, T0 + 100);
    fill(b, 0, 3, 3, T0 + 200);
    expect(b.due(T0 + 249)).toEqual([]);
    expect(b.due(T0 + 250)).toEqual([0]);
    expect(b.due(T0 + 250, true)).toEqual([0, 1]);
  });

  it('settling acks every message of the job but those refused, which are dead-lettered from their stream sequence first', () => {
    const b = book(4);
    fill(b, 0, 1, 4);
    const { jobId } = b.take(0, T0)!;
    expect(b.settle(jobId, [1, 3])).toEqual({
      ack: [ack(1), ack(3)],
      refused: [
        { streamSeq: 102, ack: ack(2) },
        { streamSeq: 104, ack: ack(4) },
      ],
    });
    expect([b.pending, b.jobs]).toEqual([0, 0]);
  });

  it('settles a job once: a second outcome, a stale or forged job id, acks nothing', () => {
    const b = book(1);
    fill(b, 0, 1, 1);
    const { jobId } = b.take(0, T0)!;
    expect(b.settle(jobId)?.ack).toEqual([ack(1)]);
    expect(b.settle(jobId)).toBeNull();
    expect(b.settle('bridge-other-1')).toBeNull();
    expect(b.beginVerify(jobId, T0, 0)).toBeNull();
    expect(b.pending).toBe(0);
  });

  it('reads one job outcome at a time, and the poll only for jobs added at least minAgeMs ago', () => {
    const b = book(1);
    fill(b, 2, 1, 1);
    const { jobId, data } = b.take(2, T0)!;
    expect(b.beginVerify(jobId, T0 + 2999, 3000)).toBeNull();
    expect(b.beginVerify(jobId, T0 + 10, 0)).toEqual({ shard: 2, data });
    expect(b.beginVerify(jobId, T0 + 3000, 3000)).toBeNull();
    b.endVerify(jobId);
    expect(b.beginVerify(jobId, T0 + 3000, 3000)).toEqual({ shard: 2, data });
    b.endVerify(jobId);
    // Added again: its age starts over.
    b.readded(jobId, T0 + 3000);
    expect(b.beginVerify(jobId, T0 + 5999, 3000)).toBeNull();
    expect(b.jobIds()).toEqual([jobId]);
  });

  it.each([
    ['completed', false, 'settle'],
    ['completed', true, 'settle'],
    ['pending', true, 'wait'],
    ['unknown', false, 'wait'],
    ['failed', false, 'wait'],
    ['unknown', true, 'readd'],
    ['failed', true, 'remove-and-readd'],
  ] as const)('a job %s, read after a done message (false) or by the poll (true: %s): %s', (state, polled, verdict) => {
    expect(BatchBook.verdict(state, polled)).toBe(verdict);
  });

  it('heartbeats every message held, buffered or in flight, and none settled, batch by batch once it has gone minAgeMs without progress', () => {
    const b = book(2);
    fill(b, 0, 1, 2, T0);
    const first = b.take(0, T0)!.jobId;
    fill(b, 0, 3, 4, T0 + 100);
    b.take(0, T0 + 100);
    fill(b, 1, 5, 5, T0 + 300);
    b.settle(first);
    // The batch of 5 arrived 200 ms after that of 3 and 4: not due yet.
    expect([...b.heartbeatsDue(T0 + 1100, 1000)]).toEqual([ack(3), ack(4)]);
    expect([...b.heartbeatsDue(T0 + 1300, 1000)]).toEqual([ack(5)]);
    expect([...b.heartbeatsDue(T0 + 1400, 1000)]).toEqual([]);
    expect([...b.heartbeatsDue(T0 + 2100, 1000)]).toEqual([ack(3), ack(4)]);
    expect(b.pending).toBe(3);
  });
});
