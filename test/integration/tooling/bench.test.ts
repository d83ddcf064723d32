import { describe, expect, it } from 'vitest';
import { runBench } from '../../bench/bench.js';

/** The benchmark's own bookkeeping on a tiny run (compiled build, own servers); never a speed. */
describe('npm run bench, tiny', () => {
  it('measures every phase over the records it was given and finds every balance right', async () => {
    const r = await runBench({
      records: 2000,
      accounts: 100,
      shards: 4,
      naiveRecords: 200,
      latencyRecords: 400,
      quietReads: 200,
      ledgerEntries: 1000,
      webhooks: 100,
      purchases: 20,
      httpRecords: 3000,
      horizonIds: 20_000,
      takeoverIds: 200_000, // the path, not the figure: 5M ids took minutes on a loaded machine
      env: { PROJECTION_FLUSH_MS: '2000' },
      spreadDays: 30,
    });
    expect(r.raw.records).toBe(2000);
    expect(r.naive).toMatchObject({ records: 200, failed: 0 });
    expect(r.tally).toMatchObject({ producer: 'go', records: 2000, stream_messages: 2000, readable_wrong: 0 });
    expect(r.tally.reads.requests).toBeGreaterThan(0);
    expect(r.tally.quiet_reads.requests).toBe(200);
    expect(r.latency).toMatchObject({ records: 400, samples: 400 });
    expect(r.latency.p50_ms).toBeLessThanOrEqual(r.latency.p99_ms);
    expect(r.http_ingest).toMatchObject({ records: 3000, batch: 1000, accepted: 3000, duplicates: 0, rejected: 0 });
    expect(r.http_ingest?.requests.statuses).toEqual({ 200: 3 });
    expect(r.charged).toBe(5400);
    expect(r.expected_charged).toBe(5400);
    expect(r.balances).toMatchObject({ wrong: 0, ledgerMismatches: 0 });
    expect(r.ok).toBe(true);
    // Every stream account is listed; the projection flush after the phase is counted.
    expect(r.scale.accounts_command.lines).toBe(r.balances.accounts);
    expect(r.scale.phase_writes.log).toBeGreaterThan(0);
    expect(r.scale.phase_writes.projections).toBeGreaterThan(0);
    expect(r.scale.phase_writes.projections).toBeLessThanOrEqual(r.scale.run_writes!.projections);
    expect(r.billing).toMatchObject({ ledger_entries: 1000, seeded: 1000 });
    expect(r.billing.webhooks.statuses).toEqual({ 200: 100 });
    expect(r.billing.purchases.statuses).toEqual({ 201: 20 });
    expect(r.billing.vms.statuses).toEqual({ 201: 100 });
    expect(r.scale.horizon?.bytes_per_id).toBeGreaterThan(0);
    // Issue 29: the usage queries answered, `tally usage` listed rows, the rollups' cost measured.
    expect(r.tally.usage_reads.requests).toBeGreaterThan(0);
    expect(r.tally.quiet_usage_reads.requests).toBe(200);
    expect(r.scale.usage_command.lines).toBeGreaterThan(r.balances.accounts);
    expect(r.scale.usage_cost['rollup_heap_bytes_per_account']).toBeGreaterThan(0);
    expect(r.scale.usage_cost['rollup_us_per_record']).toBeGreaterThan(0);
    expect(r.scale.takeover.seconds === null || r.scale.takeover.seconds > 0).toBe(true);
    for (const name of ['worker', 'bridge', 'api', 'nats', 'redis', 'ferretdb']) expect(r.rss_mb[name]).toBeGreaterThan(0);
    for (const v of [r.raw.consume_per_s, r.naive.per_s, r.tally.records_per_s]) expect(v).toBeGreaterThan(0);
  }, 600_000);
});
