import { describe, expect, it } from 'vitest';
import { DAY_MS, formatUsd } from '../../../shared/domain/index.js';
import { useServers, startPipeline, testConfig } from '../../support/pipeline.js';
import { usage } from '../../support/records.js';
import { runRedrive, WITHOUT_LLM_PRICE } from '../../support/redrive.js';
import { expectServedExactly, expectedBalances, makeStream, publishAll, servedState } from '../../support/stream.js';

/**
 * Issue 20: dead letters re-driven after the cause is fixed, each charged exactly once,
 * lateness judged from first arrival. The price book first lacks `llm_token` (records
 * dead-lettered `unpriced`), then the services restart with it.
 */
describe('dead-letter re-drive', () => {
  const env = useServers();

  it('unpriced: the dry run previews, the re-drive charges the quote of the stream under the new price book, a second charges 0', async () => {
    const before = testConfig(env.servers, { PRICE_BOOK_JSON: WITHOUT_LLM_PRICE });
    const after = testConfig(env.servers, { MONGO_DB: before.mongoDb });
    const p = await env.probe(before);
    const lines = makeStream(600, 12, 'u');
    let pipeline = await startPipeline(before, env.servers);
    await publishAll(p.bus.js, [...lines, { subject: 'usage.acct-0', payload: JSON.stringify(usage('wrong-1', 'acct-0', { applies_to: 'gpu' })) }]);
    await p.bus.js.publish('usage.acct-0', '{"id": "broken');
    await p.drained(120_000);
    await pipeline.stop();
    const unpriced = lines.filter((l) => l.payload.includes('llm_token')).length;

    // Restart with the price added.
    pipeline = await startPipeline(after, env.servers);
    try {
      const expected = expectedBalances(after, lines);
      const llmOnly = expectedBalances(
        after,
        lines.filter((l) => l.payload.includes('llm_token')),
      );
      const llmMicros = [...llmOnly.balances.values()].reduce((s, b) => s - b, 0n);

      // Read and settled in chunks (7, 50 dead letters at a time): the same outcome as in one piece.
      const preview = await runRedrive(after, env.servers, p, {
        dryRun: true,
        filter: { codes: ['unpriced', 'invalid_applies_to', 'malformed_json'] },
        chunkSize: 7,
      });
      expect(preview).toMatchObject({
        dry_run: true,
        selected: unpriced + 2,
        charged: unpriced,
        duplicates: 0,
        still_dead: { invalid_applies_to: 1, malformed_json: 1 },
      });
      expect(preview.charged_micros).toBe(llmMicros);
      expect(formatUsd(preview.charged_micros)).toMatch(/^\$\d/);

      const first = await runRedrive(after, env.servers, p, { chunkSize: 50 });
      expect(first).toMatchObject({
        dry_run: false,
        selected: unpriced + 2,
        charged: unpriced,
        duplicates: 0,
        still_dead: { invalid_applies_to: 1, malformed_json: 1 },
      });
      expect(first.charged_micros).toBe(llmMicros);
      await expectServedExactly(after, env.servers, p.mongo.db, lines);

      const second = await runRedrive(after, env.servers, p);
      expect(second).toMatchObject({ charged: 0, charged_micros: 0n, duplicates: unpriced, still_dead: { invalid_applies_to: 1, malformed_json: 1 } });
      expect((await servedState(after, env.servers, p.mongo.db)).balances).toEqual(expected.balances);

      // The audit: who, when, filters and the report of each run.
      const runs = await p.mongo.db.collection('redrive_runs').find({}).sort({ at: 1 }).toArray();
      expect(runs.map((r) => [r['_id'], r['by'], (r['report'] as { charged: number }).charged])).toEqual([
        [first.run_id, 'test', unpriced],
        [second.run_id, 'test', 0],
      ]);
    } finally {
      await pipeline.stop();
    }
  }, 300_000);

  it('a record dead-lettered 2 days after it happened, re-driven 40 days after: accepted (lateness counts from first arrival)', async () => {
    const before = testConfig(env.servers, { PRICE_BOOK_JSON: WITHOUT_LLM_PRICE });
    const after = testConfig(env.servers, { MONGO_DB: before.mongoDb });
    const p = await env.probe(before);
    const now = Date.now();
    const line = { subject: 'usage.acct-late', payload: JSON.stringify(usage('late-1', 'acct-late', {}, new Date(now - 2 * DAY_MS))) };
    let pipeline = await startPipeline(before, env.servers);
    await publishAll(p.bus.js, [line]);
    await p.drained(60_000);
    await pipeline.stop();
    pipeline = await startPipeline(after, env.servers);
    try {
      // The re-drive's clock 38 days on: 40 days after the record happened, past LATE_ARRIVAL_DAYS (35).
      const report = await runRedrive(after, env.servers, p, { clock: () => now + 38 * DAY_MS, filter: { account: 'acct-late' } });
      expect(report).toMatchObject({ selected: 1, charged: 1, still_dead: {} });
      expect((await servedState(after, env.servers, p.mongo.db)).balances.get('acct-late')).toBe(expectedBalances(after, [line]).balances.get('acct-late'));
    } finally {
      await pipeline.stop();
    }
  }, 180_000);
});
