import { describe, expect, it } from 'vitest';
import { startBridge } from '../../../services/bridge/main.js';
import { probe } from '../../support/pipeline.js';
import { call, configOf, useApiStack } from '../../support/api.js';
import { usage } from '../../support/records.js';
import { WITHOUT_LLM_PRICE } from '../../support/redrive.js';
import { testLogger } from '../../support/servers.js';
import { expectedBalances, publishAll, type RecordedLine } from '../../support/stream.js';

/** GET /v1/admin/dead-letters (filters, cursor pages, counts) and POST …/redrive (issue 20). */
describe('dead letters over HTTP', () => {
  const api = useApiStack();
  const get = (path: string, token?: string | null) => call(api.stack.url, 'GET', path, token === undefined ? {} : { token });
  const lines: RecordedLine[] = Array.from({ length: 5 }, (_, i) => ({
    subject: `usage.acct-h${i % 2}`,
    payload: JSON.stringify(usage(`h-${i}`, `acct-h${i % 2}`)),
  }));

  it('lists, pages and counts the dead letters; re-drives them with a preview first', async () => {
    // A bridge with the old price book dead-letters llm_token records; the API and worker run the new one.
    const before = configOf(api.servers, { ...api.env, PRICE_BOOK_JSON: WITHOUT_LLM_PRICE });
    const p = await probe(before, api.servers);
    const bridge = await startBridge(before, api.servers, testLogger());
    try {
      await publishAll(p.bus.js, [...lines, { subject: 'usage.acct-h0', payload: JSON.stringify(usage('h-bad', 'acct-h0', { applies_to: 'gpu' })) }]);
      await p.drained(60_000);
    } finally {
      await bridge.stop();
    }

    expect((await get('/v1/admin/dead-letters', null)).status).toBe(401);
    const bad = await get('/v1/admin/dead-letters?code=no_such_code');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_request']);

    const first = await get('/v1/admin/dead-letters?code=unpriced&limit=3');
    expect(first.status).toBe(200);
    expect(first.body.dead_letters.map((d: { code: string }) => d.code)).toEqual(['unpriced', 'unpriced', 'unpriced']);
    const second = await get(`/v1/admin/dead-letters?code=unpriced&limit=3&after=${first.body.next}`);
    expect(second.body.dead_letters).toHaveLength(2);
    const ids = [...first.body.dead_letters, ...second.body.dead_letters].map((d: { payload: string }) => JSON.parse(d.payload).id);
    expect(ids).toEqual(['h-0', 'h-1', 'h-2', 'h-3', 'h-4']);
    expect((await get('/v1/admin/dead-letters?account=acct-h1')).body.dead_letters).toHaveLength(2);

    const counts = await get('/v1/admin/dead-letters/counts');
    expect(counts.body).toMatchObject({ total: 6, by_code: { unpriced: 5, invalid_applies_to: 1 } });
    expect(Object.values(counts.body.by_day)).toEqual([6]);

    const redrive = (body: unknown, token?: string | null) =>
      call(api.stack.url, 'POST', '/v1/admin/dead-letters/redrive', { body, ...(token === undefined ? {} : { token }) });
    expect((await redrive({ dry_run: true }, null)).status).toBe(401);
    // SPEC 14: an empty request is never "everything"; `all` is, and says so.
    for (const body of [undefined, {}, { dry_run: true }, { limit: 5 }, { code: [] }, { all: false }]) {
      const empty = await redrive(body);
      expect([empty.status, empty.body.error.code], JSON.stringify(body)).toEqual([400, 'selection_required']);
    }
    const both = await redrive({ all: true, code: 'unpriced' });
    expect([both.status, both.body.error.code]).toEqual([400, 'invalid_request']);
    const micros = -[...expectedBalances(api.config, lines).balances.values()].reduce((s, b) => s + b, 0n);
    const preview = await redrive({ all: true, dry_run: true });
    expect(preview.body).toMatchObject({
      dry_run: true,
      selected: 6,
      charged: 5,
      charged_micros: Number(micros),
      duplicates: 0,
      still_dead: { invalid_applies_to: 1 },
    });
    expect(preview.body.charged_usd).toMatch(/^\$0\.\d+$/);
    const done = await redrive({ code: ['unpriced'] });
    expect(done.body).toMatchObject({ dry_run: false, selected: 5, charged: 5, charged_micros: Number(micros), duplicates: 0, still_dead: {} });
    expect((await redrive({ code: 'unpriced,invalid_applies_to' })).body).toMatchObject({
      selected: 6,
      charged: 0,
      duplicates: 5,
      still_dead: { invalid_applies_to: 1 },
    });

    const runs = await get('/v1/admin/dead-letters/runs');
    expect(runs.body.runs.map((r: { by: string; filters: unknown; report: { charged: number } }) => [r.by, r.filters, r.report.charged])).toEqual([
      ['admin', { codes: ['unpriced', 'invalid_applies_to'] }, 0],
      ['admin', { codes: ['unpriced'] }, 5],
    ]);
    await p.close();
  }, 180_000);
});
