import { describe, expect, it } from 'vitest';
import { DLQ_HEADERS, DLQ_STREAM, readStream } from '../../../shared/bus/index.js';
import { startPipeline, testConfig, useServers, type Probe } from '../../support/pipeline.js';
import { expectedBalances, makeStream, publishAll, storeState, type RecordedLine } from '../../support/stream.js';

/**
 * Issue 16 item 6: a record whose meta nests thousands of levels could throw inside
 * validation; the bridge then neither acked nor dead-lettered it, and every fetch that
 * reached it was cut short. Poison records among valid ones: every valid record is
 * charged, every poison one is a dead letter with its code, and the stream drains.
 */
describe('poison records in the stream', () => {
  const env = useServers();
  let p: Probe;

  it('dead-letters deeply nested records with a code and charges every valid record around them', async () => {
    const config = testConfig(env.servers, { SHARDS: '4' });
    p = await env.probe(config);
    const now = Date.now();
    const at = new Date(now - 60_000).toISOString();
    const deep = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);
    const record = (id: string, extra: string): string =>
      `{"id":"${id}","account_id":"acct-p","kind":"llm_token","quantity":1000,"applies_to":"llm","occurred_at":"${at}",${extra}}`;
    const poison: [code: string, payload: string][] = [
      ['invalid_meta', record('deep-meta', `"meta":{"a":${deep(4000)}}`)],
      [
        'invalid_meta',
        `{"specversion":"1.0","type":"usage","source":"/m","id":"deep-ce","subject":"acct-p","time":"${at}","data":{"kind":"vm_hour","quantity":1,"meta":{"a":${deep(4000)}}}}`,
      ],
      ['malformed_json', deep(4090)],
      ['too_large', record('deep-large', `"meta":{"a":${deep(30_000)}}`)],
    ];
    // Deep, but in a field the product ignores: a valid record like any other.
    const ignoredDeep: RecordedLine = { subject: 'usage.acct-p', payload: record('deep-extra', `"extra":${deep(4000)}`) };
    const valid = [...makeStream(400, 20, 'v', now), ignoredDeep];
    const lines: RecordedLine[] = [];
    const expectedDead: string[] = [];
    for (const [i, l] of valid.entries()) {
      lines.push(l);
      if (i % 100 !== 50) continue;
      for (const [code, payload] of poison) {
        lines.push({ subject: 'usage.acct-p', payload });
        expectedDead.push(code);
      }
    }
    await publishAll(p.bus.js, lines, false);

    const pipeline = await startPipeline(config, env.servers);
    try {
      await p.drained(60_000);
    } finally {
      await pipeline.stop();
    }

    const expected = expectedBalances(config, valid, now);
    const state = await storeState(p.mongo.db);
    expect(state.charged).toBe(valid.length);
    expect(state.balances).toEqual(expected.balances);
    expect(state.mismatches).toBe(0);

    const dead: string[] = [];
    for await (const m of readStream(p.bus.js, p.bus.jsm, DLQ_STREAM)) dead.push(m.headers?.get(DLQ_HEADERS.code) ?? '');
    expect(dead.sort()).toEqual(expectedDead.sort());
  });
});
