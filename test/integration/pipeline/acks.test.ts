import { describe, expect, it } from 'vitest';
import { BRIDGE_CONSUMER, USAGE_STREAM, batchDoneSubject } from '../../../shared/bus/index.js';
import { sumShardLog } from '../../../shared/store/index.js';
import { startBridge } from '../../../services/bridge/main.js';
import { startWorker } from '../../../services/worker/main.js';
import { testConfig, useServers } from '../../support/pipeline.js';
import { testLogger } from '../../support/servers.js';
import { expectedBalances, makeStream, publishAll } from '../../support/stream.js';
import { listAccounts } from '../../../shared/store/internal.js';

/**
 * SPEC 9: a NATS message is acked only on a signal no other NATS client can forge. The
 * bridge's done subject is public; a done message must only make the bridge look at the
 * job in Redis, never ack by itself.
 */
describe('acknowledgements', () => {
  const env = useServers();

  it('a forged done message for an in-flight job acks nothing; the records are charged once', async () => {
    const servers = env.servers;
    const config = testConfig(servers, { SHARDS: '2', BRIDGE_LINGER_MS: '20' });
    const p = await env.probe(config);
    const bridge = await startBridge(config, servers, testLogger());
    const lines = makeStream(60, 6, 'forge');
    await publishAll(p.bus.js, lines);
    // No worker yet: the jobs wait in Redis while the bridge holds every message.
    await expect.poll(async () => (await p.bus.jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER)).num_ack_pending, { timeout: 20_000 }).toBe(lines.length);
    await expect.poll(() => bridge.bridge.counters.jobs, { timeout: 5_000 }).toBeGreaterThan(0);

    const id = bridge.bridge.id;
    for (let n = 1; n <= 20; n++) p.bus.nc.publish(batchDoneSubject(id), `${id}-${n}`);
    await p.bus.nc.flush();
    // Longer than the bridge's poll (1 s) and its 3 s grace before it re-checks a job.
    await new Promise((r) => setTimeout(r, 4_500));
    expect(bridge.bridge.counters.acked).toBe(0);
    expect((await p.bus.jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER)).num_ack_pending).toBe(lines.length);

    const worker = await startWorker(config, servers, testLogger());
    await p.drained(60_000);
    expect(bridge.bridge.counters.acked).toBe(lines.length);
    await bridge.stop();
    await worker.stop();
    const totals = await sumShardLog(p.mongo.db);
    expect(totals.charged).toBe(lines.length);
    expect(totals.duplicates).toBe(0);
    const expected = expectedBalances(config, lines).balances;
    const actual = new Map((await listAccounts(p.mongo.db)).map((a) => [a._id, a.balance_micros]));
    expect(actual).toEqual(expected);
  }, 120_000);
});
