import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE_CONSUMER, USAGE_STREAM, ensureStreams, streamOptions } from '../../../shared/bus/index.js';
import type { Config } from '../../../shared/config/index.js';
import { serveMetrics } from '../../../shared/runtime/index.js';
import { startApi, type RunningApi } from '../../../services/api/index.js';
import { delta, scrape } from '../../support/metrics.js';
import { probe, startPipeline, testConfig, type Probe, type Started } from '../../support/pipeline.js';
import { badMessages } from '../../support/records.js';
import { startTestServers, testLogger, type TestServers } from '../../support/servers.js';
import { makeStream, publishAll } from '../../support/stream.js';

const ADMIN_TOKEN = 'ops-admin-token-0123456789';

/**
 * /metrics, /healthz and /readyz of an API running in one process with a bridge and a worker,
 * as `tally up` runs them. A private set of servers: the counters must move by exactly
 * what this test sends, with nothing left over from other files in the usage stream.
 */
describe('operator metrics and health', () => {
  let servers: TestServers;
  let config: Config;
  let p: Probe;
  let pipeline: Started<typeof startPipeline>;
  let api: RunningApi;

  beforeAll(async () => {
    servers = await startTestServers();
    config = testConfig(servers, { ADMIN_TOKEN });
    p = await probe(config, servers);
    pipeline = await startPipeline(config, servers);
    api = await startApi({ ...config, httpPort: 0 }, servers, testLogger());
  });
  afterAll(async () => {
    await api?.stop();
    await pipeline?.stop();
    await p?.close();
    await servers?.stop();
  });

  it('moves the counters by exactly the records sent: received, charged, duplicates, dead letters by code, histograms', async () => {
    const before = await scrape(api.url);
    const lines = makeStream(400, 20, 'm');
    // Re-sent without Nats-Msg-Id, so JetStream keeps them and the shard owners must count them.
    const repeats = lines.slice(0, 30);
    const bad = badMessages(new Date());
    await publishAll(p.bus.js, lines);
    await publishAll(p.bus.js, repeats, false);
    for (const [, subject, payload] of bad) await p.bus.js.publish(subject, payload);
    await p.drained();
    const after = await scrape(api.url);

    const sent = lines.length + repeats.length + bad.length;
    expect(delta(before, after, 'tally_records_received_total')).toBe(sent);
    expect(delta(before, after, 'tally_records_charged_total')).toBe(lines.length);
    expect(delta(before, after, 'tally_records_duplicate_total')).toBe(repeats.length);
    for (const [code] of bad) expect(delta(before, after, `tally_dead_letters_total{code="${code}"}`), code).toBe(1);
    // Every valid record went through one applied batch, and each has a publish-to-charged sample.
    expect(delta(before, after, 'tally_batch_records_sum')).toBe(lines.length + repeats.length);
    expect(delta(before, after, 'tally_publish_to_charged_seconds_count')).toBe(lines.length + repeats.length);
    const batches = delta(before, after, 'tally_batch_records_count');
    expect(batches).toBeGreaterThan(0);
    expect(delta(before, after, 'tally_batch_apply_seconds_count')).toBe(batches);
  });

  it('reads the gauges at scrape time: consumer lag, queue depths per state, low balances; process metrics too', async () => {
    const m = await scrape(api.url);
    expect(m.get('tally_consumer_pending_messages')).toBe(0);
    expect(m.get('tally_consumer_ack_pending_messages')).toBe(0);
    for (const state of ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed']) {
      expect(m.has(`tally_queue_jobs{queue="tally-shard-0",state="${state}"}`), state).toBe(true);
    }
    expect(m.has('tally_queue_jobs{queue="tally-scheduler",state="waiting"}')).toBe(true);
    expect(m.get('tally_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(m.get('tally_scrape_source_up{source="redis"}')).toBe(1);
    // No payments: every charged account is below LOW_BALANCE_MICROS. The store read is
    // cached for a few seconds, and projections are written about once a second.
    await expect.poll(async () => (await scrape(api.url)).get('tally_accounts_below_low_balance'), { timeout: 20_000, interval: 500 }).toBe(20);
    expect((await scrape(api.url)).get('tally_accounts')).toBe(20);
  });

  it('counts ladder tick runs by source and outcome', async () => {
    const before = await scrape(api.url);
    const res = await fetch(`${api.url}/v1/admin/ladder-tick`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    expect(delta(before, await scrape(api.url), 'tally_ladder_tick_runs_total{source="admin",outcome="complete"}')).toBe(1);
  });

  it('serves every metric the Grafana dashboard in deploy/grafana queries', async () => {
    const dashboard = await readFile(new URL('../../../deploy/grafana/tally.json', import.meta.url), 'utf8');
    const used = new Set(dashboard.match(/tally_[a-z0-9_]+/g));
    const served = new Set([...(await scrape(api.url)).keys()].map((k) => k.split('{')[0]));
    const missing = [...used].filter((name) => !served.has(name));
    expect(used.size).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });

  it('serves the same registry on METRICS_PORT for processes without the API (tally worker, tally bridge)', async () => {
    const server = await serveMetrics(0, '127.0.0.1');
    try {
      const res = await fetch(server.url);
      expect(res.status).toBe(200);
      const body = await res.text();
      expect(body).toContain('tally_records_charged_total 400');
      expect(body).toContain('tally_process_cpu_user_seconds_total');
      expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('/healthz answers while the process lives; /readyz names every check, and which one is down', async () => {
    expect(await (await fetch(`${api.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      ready: true,
      checks: {
        mongodb: 'ok',
        redis: 'ok',
        nats: 'ok',
        'stream USAGE': 'ok',
        'stream USAGE_DLQ': 'ok',
        'stream BILLING_EVENTS': 'ok',
        'consumer tally-bridge': 'ok',
      },
    });

    // A JetStream that lost the bridges' consumer answers pings but delivers nothing: not ready.
    await p.bus.jsm.consumers.delete(USAGE_STREAM, BRIDGE_CONSUMER);
    const notReady = await fetch(`${api.url}/readyz`);
    const body = (await notReady.json()) as { ready: boolean; down: string[]; error: { code: string; message: string }; checks: Record<string, string> };
    expect(notReady.status).toBe(503);
    expect([body.ready, body.down, body.error.code]).toEqual([false, ['consumer tally-bridge'], 'unavailable']);
    expect(body.checks['consumer tally-bridge']).toBe('down');
    expect(body.checks['mongodb']).toBe('ok');
    expect(body.error.message).toBe('not ready: consumer tally-bridge');

    await ensureStreams(p.bus.jsm, streamOptions(config));
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
  });
});
