import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_STREAM, readStream } from '../../../shared/bus/index.js';
import { shardOf } from '../../../shared/queue/index.js';
import { COLLECTIONS, readAccount, type EventDoc } from '../../../shared/store/index.js';
import { apiEnv, configOf, pay, startStack } from '../../support/api.js';
import { probe, type Probe } from '../../support/pipeline.js';
import { childEnv, spawnTally, type TallyProcess } from '../../support/processes.js';
import { startTestServers, type TestServers } from '../../support/servers.js';
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
    for await (const m of readStream(p.bus.js, p.bus.jsm, EVENTS_STREAM, { filter: 'billing.events.acct-x' })) published.push((m.json() as { type: string }).type);
    expect(published.sort()).toEqual(['depleted', 'low_balance']);
    const account = await readAccount(p.mongo.db, 'acct-x', shardOf('acct-x', config.shards));
    expect(account?.balance_micros).toBe(-500_000n);
  }, 300_000);
});
