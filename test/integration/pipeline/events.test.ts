import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_STREAM, readStream } from '../../../shared/bus/index.js';
import { shardOf } from '../../../shared/queue/index.js';
import { onFailpoint } from '../../../shared/runtime/index.js';
import { readAccount, sumShardLog, type EventDoc } from '../../../shared/store/index.js';
import { COLLECTIONS } from '../../../shared/store/internal.js';
import { startBridge } from '../../../services/bridge/main.js';
import { apiEnv, configOf, pay, startStack } from '../../support/api.js';
import { probe, useServers, type Probe } from '../../support/pipeline.js';
import { childEnv, spawnTally, type TallyProcess } from '../../support/processes.js';
import { startTestServers, testLogger, type TestServers } from '../../support/servers.js';
import { publishAll } from '../../support/stream.js';
import { usage } from '../../support/records.js';

/**
 * SPEC 6: crossing below the low-balance threshold and crossing to <= 0 each emit one
 * event, in the events collection and on billing.events.<account>, even when every usage
 * message is delivered twice (a bridge killed holding them, JetStream redelivering).
 */
describe('billing events under redelivery', () => {
  let servers: TestServers;
  let p: Probe;
  const bridges: TallyProcess[] = [];

  beforeAll(async () => {
    servers = await startTestServers();
  });
  afterAll(async () => {
    for (const b of bridges) b.kill('SIGKILL');
    await p?.close();
    await servers?.stop();
  });

  it('emits exactly one low_balance and one depleted per crossing', async () => {
    const env = apiEnv(servers, { NATS_ACK_WAIT_MS: '1000' });
    const config = configOf(servers, env);
    p = await probe(config, servers);
    const stack = await startStack(config, servers);
    const paid = await pay(stack.url, { payment_id: 'p-1', account_id: 'acct-x', amount_micros: 1_500_000, paid_at: new Date().toISOString() });
    expect(paid.status).toBe(200);

    // 20 x 0.10 USD: the balance goes 1.50 -> below 1.00 (low_balance) -> 0 (depleted) -> -0.50.
    const lines = Array.from({ length: 20 }, (_, i) => ({
      subject: 'usage.acct-x',
      payload: JSON.stringify(usage(`ev-${i}`, 'acct-x', { kind: 'other', applies_to: 'hero_os_hourly', quantity: 1, cost_micros: 100_000 })),
    }));
    const logs = await mkdtemp(join(tmpdir(), 'tally-events-'));
    // The first bridge dies right after handing over its first job: every message it held comes back.
    const b1 = spawnTally(['bridge'], childEnv(config, servers, { TALLY_FAILPOINTS: 'bridge.after-enqueue=1' }), join(logs, 'bridge-1.log'));
    bridges.push(b1);
    await publishAll(p.bus.js, lines);
    expect((await b1.exited).signal).toBe('SIGKILL');
    bridges.push(spawnTally(['bridge'], childEnv(config, servers), join(logs, 'bridge-2.log')));
    await p.drained(120_000);
    const consumer = await p.bus.jsm.consumers.info('USAGE', 'tally-bridge');
    expect(consumer.delivered.consumer_seq).toBeGreaterThan(lines.length); // redelivered

    await stack.stop(); // final projection flush
    const events = await p.mongo.db.collection<EventDoc>(COLLECTIONS.events).find({ account_id: 'acct-x' }).toArray();
    expect(events.map((e) => e.type).sort()).toEqual(['depleted', 'low_balance']);
    const published: string[] = [];
    for await (const m of readStream(p.bus.js, p.bus.jsm, EVENTS_STREAM, { filter: 'billing.events.acct-x' }))
      published.push((m.json() as { type: string }).type);
    expect(published.sort()).toEqual(['depleted', 'low_balance']);
    const account = await readAccount(p.mongo.db, 'acct-x', shardOf('acct-x', config.shards));
    expect(account?.balance_micros).toBe(-500_000n);
  }, 300_000);
});

/**
 * SPEC 9: events are delivered at least once even when NATS is down at the moment of the
 * crossing. NATS is stopped exactly before the first event's publish and kept down past the
 * client's publish timeout (10 s), so that publish fails; the outbox publishes it later.
 */
describe('billing events when NATS is down at the publish', () => {
  const env = useServers();

  it('publishes the event once NATS is back, and counts no duplicates', async () => {
    const servers = env.servers;
    // A short ack wait: the acks sent while NATS was down are lost, and the redelivery must count as no duplicate.
    const config = configOf(servers, apiEnv(servers, { NATS_ACK_WAIT_MS: '5000' }));
    const p = await env.probe(config);
    const stack = await startStack(config, servers);
    let bridge: Awaited<ReturnType<typeof startBridge>> | null = null;
    try {
      expect((await pay(stack.url, { payment_id: 'p-y', account_id: 'acct-y', amount_micros: 1_500_000, paid_at: new Date().toISOString() })).status).toBe(200);
      let restarted: Promise<void> | null = null;
      onFailpoint('worker.before-event-publish', async () => {
        await servers.kill('nats');
        restarted = new Promise((resolve, reject) => setTimeout(() => servers.restart('nats').then(resolve, reject), 12_000));
      });
      const lines = Array.from({ length: 20 }, (_, i) => ({
        subject: 'usage.acct-y',
        payload: JSON.stringify(usage(`down-${i}`, 'acct-y', { kind: 'other', applies_to: 'hero_os_hourly', quantity: 1, cost_micros: 100_000 })),
      }));
      await publishAll(p.bus.js, lines);
      // The bridge starts once the stream holds every record: the test's own publishes never meet the stopped server.
      bridge = await startBridge(config, servers, testLogger());
      await expect.poll(() => restarted !== null, { timeout: 30_000 }).toBe(true);
      await restarted;
      // Requests on the probe's connection can time out while it reconnects: ask until one is answered.
      const drained = async (): Promise<boolean> =>
        p.drained(5_000).then(
          () => true,
          () => false,
        );
      await expect.poll(drained, { timeout: 120_000, interval: 1000 }).toBe(true);

      const types = async (): Promise<string[]> => {
        const seen: string[] = [];
        for await (const m of readStream(p.bus.js, p.bus.jsm, EVENTS_STREAM, { filter: 'billing.events.acct-y' }))
          seen.push((m.json() as { type: string }).type);
        return seen.sort();
      };
      await expect.poll(types, { timeout: 30_000, interval: 1000 }).toEqual(['depleted', 'low_balance']);
      const stored = await p.mongo.db.collection<EventDoc>(COLLECTIONS.events).find({ account_id: 'acct-y' }).toArray();
      await expect
        .poll(async () => (await p.mongo.db.collection<EventDoc>(COLLECTIONS.events).find({ account_id: 'acct-y', published: true }).toArray()).length, {
          timeout: 30_000,
        })
        .toBe(2);
      expect(stored.map((e) => e.type).sort()).toEqual(['depleted', 'low_balance']);
      const totals = await sumShardLog(p.mongo.db);
      expect(totals.charged).toBe(lines.length);
      expect(totals.duplicates).toBe(0);
    } finally {
      await bridge?.stop();
      await stack.stop();
    }
  }, 300_000);
});
