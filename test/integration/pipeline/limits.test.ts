import { DiscardPolicy } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { DLQ_HEADERS, DLQ_STREAM, USAGE_STREAM, ensureStreams, readStream, streamOptions } from '../../../shared/bus/index.js';
import { startPipeline, testConfig, useServers, type Probe } from '../../support/pipeline.js';
import { expectedBalances, makeStream, recordMsgId, storeState, type RecordedLine } from '../../support/stream.js';
import { usage } from '../../support/records.js';

/**
 * Issue 16 item 6: no stream may fill the disk. USAGE, when full, refuses publishes (the
 * producer sees an error) and never drops a record it accepted; the dead-letter stream,
 * when full, drops its oldest and the bridge keeps going.
 */
describe('stream byte limits', () => {
  const env = useServers();
  let p: Probe;

  it('a full USAGE refuses the producer; every record it accepted is charged', async () => {
    const config = testConfig(env.servers, { USAGE_MAX_BYTES: '65536' });
    p = await env.probe(config);
    // An existing deployment's stream (discard old, no byte limit) is updated in place.
    await p.bus.jsm.streams.update(USAGE_STREAM, { discard: DiscardPolicy.Old, max_bytes: -1 });
    await ensureStreams(p.bus.jsm, streamOptions(config));
    expect((await p.bus.jsm.streams.info(USAGE_STREAM)).config).toMatchObject({ discard: DiscardPolicy.New, max_bytes: 65536 });

    const now = Date.now();
    const lines = makeStream(2000, 30, 'full', now);
    const accepted: RecordedLine[] = [];
    const refusals: string[] = [];
    for (const l of lines) {
      try {
        await p.bus.js.publish(l.subject, l.payload, { msgID: recordMsgId(l.payload) });
        // Once refused, every later publish is refused too: nothing slips in to be dropped.
        expect(refusals).toEqual([]);
        accepted.push(l);
      } catch (err) {
        refusals.push((err as Error).message);
        if (refusals.length === 20) break;
      }
    }
    expect(accepted.length).toBeGreaterThan(100);
    expect(accepted.length).toBeLessThan(lines.length);
    expect(new Set(refusals)).toEqual(new Set(['maximum bytes exceeded']));
    const state = (await p.bus.jsm.streams.info(USAGE_STREAM)).state;
    expect([state.first_seq, state.messages]).toEqual([1, accepted.length]);

    const pipeline = await startPipeline(config, env.servers);
    try {
      await p.drained(60_000);
    } finally {
      await pipeline.stop();
    }
    const store = await storeState(p.mongo.db);
    expect(store.charged).toBe(accepted.length);
    expect(store.balances).toEqual(expectedBalances(config, accepted, now).balances);
    expect(store.mismatches).toBe(0);
  });

  it('a full dead-letter stream drops its oldest while the bridge acks every bad record', async () => {
    const config = testConfig(env.servers, { MONGO_DB: p.mongo.db.databaseName, USAGE_MAX_BYTES: String(4 * 2 ** 20), DLQ_MAX_BYTES: '65536' });
    await ensureStreams(p.bus.jsm, streamOptions(config));
    const now = new Date();
    const bad = Array.from({ length: 100 }, (_, i) =>
      JSON.stringify({ ...usage(`bad-${i}`, 'acct-dlq', {}, now), kind: 'gpu_second', note: 'x'.repeat(1500) }),
    );
    for (const payload of bad) await p.bus.js.publish('usage.acct-dlq', payload);
    const good = JSON.stringify(usage('after-bad', 'acct-dlq', {}, now));
    await p.bus.js.publish('usage.acct-dlq', good);

    const pipeline = await startPipeline(config, env.servers);
    try {
      await p.drained(60_000);
    } finally {
      await pipeline.stop();
    }
    const dlq = await p.bus.jsm.streams.info(DLQ_STREAM);
    expect(dlq.config).toMatchObject({ discard: DiscardPolicy.Old, max_bytes: 65536 });
    expect(dlq.state.bytes).toBeLessThanOrEqual(65536);
    expect(dlq.state.first_seq).toBeGreaterThan(1);
    const kept: string[] = [];
    for await (const m of readStream(p.bus.js, p.bus.jsm, DLQ_STREAM)) {
      expect(m.headers?.get(DLQ_HEADERS.code)).toBe('invalid_kind');
      kept.push(m.string());
    }
    expect(kept).toEqual(bad.slice(-kept.length));
    expect((await storeState(p.mongo.db)).balances.get('acct-dlq')).toBe(
      expectedBalances(config, [{ subject: 'usage.acct-dlq', payload: good }], now.getTime()).balances.get('acct-dlq'),
    );
  });
});
