import { describe, expect, it } from 'vitest';
import { runBench } from '../../bench/bench.js';

/** The benchmark's own bookkeeping on a tiny run (compiled build, own servers); never a speed. */
describe('npm run bench, tiny', () => {
  it('measures every phase over the records it was given and finds every balance right', async () => {
    const r = await runBench({ records: 2000, accounts: 100, shards: 4, naiveRecords: 200, latencyRecords: 400 });
    expect(r.raw.records).toBe(2000);
    expect(r.naive).toMatchObject({ records: 200, failed: 0 });
    expect(r.tally).toMatchObject({ records: 2000, stream_messages: 2000 });
    expect(r.latency).toMatchObject({ records: 400, samples: 400 });
    expect(r.latency.p50_ms).toBeLessThanOrEqual(r.latency.p99_ms);
    expect(r.charged).toBe(2400);
    expect(r.expected_charged).toBe(2400);
    expect(r.balances).toMatchObject({ wrong: 0, ledgerMismatches: 0 });
    expect(r.ok).toBe(true);
    for (const name of ['worker', 'bridge', 'nats', 'redis', 'ferretdb']) expect(r.rss_mb[name]).toBeGreaterThan(0);
    for (const v of [r.raw.consume_per_s, r.naive.per_s, r.tally.records_per_s]) expect(v).toBeGreaterThan(0);
  }, 300_000);
});
