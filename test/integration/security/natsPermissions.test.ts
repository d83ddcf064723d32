import { connect, nkeyAuthenticator, PermissionViolationError, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { createUser } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE_CONSUMER, USAGE_STREAM, natsConnectOptions } from '../../../shared/bus/index.js';
import { startBridge } from '../../../services/bridge/main.js';
import { startWorker } from '../../../services/worker/main.js';
import { expectServedExactly, makeStream, publishAll } from '../../support/stream.js';
import { probe, startPipeline, testConfig, useServers, type Probe } from '../../support/pipeline.js';
import { testLogger } from '../../support/servers.js';

/** A producer as a user would connect one: the producers' seed file, the client's default inbox. */
async function producer(natsUrl: string, seedFile: string): Promise<{ nc: NatsConnection; violations: PermissionViolationError[] }> {
  const nc = await connect({ ...(await natsConnectOptions(natsUrl, { nkeySeedFile: seedFile })), name: 'test-producer' });
  const violations: PermissionViolationError[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error' && s.error instanceof PermissionViolationError) violations.push(s.error);
  })();
  return { nc, violations };
}

const refused = (violations: PermissionViolationError[], operation: 'publish' | 'subscription', subject: string) =>
  expect.poll(() => violations.some((v) => v.operation === operation && v.subject === subject), { timeout: 5_000 }).toBe(true);

/**
 * SPEC 14 on the embedded default: NATS requires an identity, and the producers' identity
 * may publish usage and read the replies to its own requests, nothing else.
 */
describe('NATS identities of the embedded servers', () => {
  const env = useServers();
  let p: Probe;
  let config: ReturnType<typeof testConfig>;
  let prod: Awaited<ReturnType<typeof producer>>;

  beforeAll(async () => {
    config = testConfig(env.servers, { SHARDS: '2', BRIDGE_LINGER_MS: '20' });
    p = await env.probe(config); // the services' identity; creates the streams
    prod = await producer(env.servers.natsUrl, env.servers.producerNkey);
  });
  afterAll(async () => {
    await prod?.nc.close();
  });

  it('refuses anonymous clients and unknown nkeys', async () => {
    await expect(connect({ servers: env.servers.natsUrl, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
    const stranger = nkeyAuthenticator(createUser().getSeed());
    await expect(connect({ servers: env.servers.natsUrl, reconnect: false, authenticator: stranger })).rejects.toThrow(/Authorization Violation/i);
  });

  it('a producer may subscribe to nothing of the services: each subscription is a permissions violation', async () => {
    const received: string[] = [];
    for (const subject of ['$JS.ACK.>', 'tally.>', 'usage.>', '>', 'billing.events.>', 'dlq.>', '_TALLY_INBOX.>']) {
      prod.nc.subscribe(subject, { callback: (err, m) => void (err ?? received.push(m.subject)) });
      await refused(prod.violations, 'subscription', subject);
    }
    expect(received).toEqual([]);
  });

  it('a producer may not pull from the bridge, manage streams or publish outside usage.>', async () => {
    for (const subject of [
      `$JS.API.CONSUMER.MSG.NEXT.${USAGE_STREAM}.${BRIDGE_CONSUMER}`,
      `$JS.API.STREAM.DELETE.${USAGE_STREAM}`,
      `$JS.API.STREAM.PURGE.${USAGE_STREAM}`,
      `$JS.ACK.${USAGE_STREAM}.${BRIDGE_CONSUMER}.1.1.1.1.0`,
      'tally.done.x',
      'billing.events.x',
      'dlq.usage.x',
    ]) {
      prod.nc.publish(subject, '{}');
      await refused(prod.violations, 'publish', subject);
    }
    const info = await p.bus.jsm.streams.info(USAGE_STREAM);
    expect(info.config.name).toBe(USAGE_STREAM);
  });

  it('a forged ack subject as the reply of a usage publish acks nothing: the import rewrites it', async () => {
    // Its own database: what this test charges is nobody else's.
    const forgeConfig = testConfig(env.servers, { SHARDS: '2', BRIDGE_LINGER_MS: '20' });
    const bridge = await startBridge(forgeConfig, env.servers, testLogger());
    let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
    try {
      const lines = makeStream(20, 4, 'forge');
      await publishAll(p.bus.js, lines);
      // No worker: the bridge holds every message un-acked.
      await expect.poll(async () => (await p.bus.jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER)).num_ack_pending, { timeout: 20_000 }).toBe(lines.length);
      const ackSubject = (seq: number) => `$JS.ACK.${USAGE_STREAM}.${BRIDGE_CONSUMER}.1.${seq}.${seq}.${Date.now()}000000.0`;
      for (let seq = 1; seq <= lines.length; seq++) prod.nc.publish('usage.acct-forger', `+ACK ${seq}`, { reply: ackSubject(seq) });
      await prod.nc.flush();
      await new Promise((r) => setTimeout(r, 1_500));
      expect((await p.bus.jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER)).ack_floor.stream_seq).toBe(0);
      // The same subject published inside the services' account is an ack: the forgery was well formed.
      p.bus.nc.publish(ackSubject(1), '+ACK');
      await expect.poll(async () => (await p.bus.jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER)).ack_floor.stream_seq, { timeout: 5_000 }).toBe(1);
      worker = await startWorker(forgeConfig, env.servers, testLogger());
      await p.drained(60_000);
    } finally {
      await bridge.stop();
      await worker?.stop();
    }
  });

  it("a producer's JetStream publish is acked through the import, deduplicated by Nats-Msg-Id, and charged", async () => {
    const js = jetstream(prod.nc);
    const lines = makeStream(30, 3, 'prod');
    for (const l of lines) {
      const id = JSON.parse(l.payload) as { account_id: string; id: string };
      const ack = await js.publish(l.subject, l.payload, { msgID: `${id.account_id}/${id.id}` });
      expect(ack).toMatchObject({ stream: USAGE_STREAM, duplicate: false });
    }
    const first = JSON.parse(lines[0]!.payload) as { account_id: string; id: string };
    expect(await js.publish(lines[0]!.subject, lines[0]!.payload, { msgID: `${first.account_id}/${first.id}` })).toMatchObject({ duplicate: true });
    const pipeline = await startPipeline(config, env.servers);
    try {
      await p.drained(60_000);
      await expectServedExactly(config, env.servers, p.mongo.db, lines);
    } finally {
      await pipeline.stop();
    }
  });

  it('a producer subscribed to every subject it may sees none of the traffic of 3,000 records through the pipeline', async () => {
    const seen: string[] = [];
    const sub = prod.nc.subscribe('_INBOX.>', { callback: (err, m) => void (err ?? seen.push(m.subject)) });
    await prod.nc.flush();
    const db = testConfig(env.servers, { SHARDS: '2', BRIDGE_LINGER_MS: '20' });
    const eavesdropped = await probe(db, env.servers);
    const lines = makeStream(3_000, 50, 'eaves');
    const worker = await startWorker(db, env.servers, testLogger());
    const bridge = await startBridge(db, env.servers, testLogger());
    try {
      await publishAll(eavesdropped.bus.js, lines);
      await eavesdropped.drained(120_000);
      await expectServedExactly(db, env.servers, eavesdropped.mongo.db, lines);
    } finally {
      await bridge.stop();
      await worker.stop();
      await eavesdropped.close();
      sub.unsubscribe();
    }
    expect(seen).toEqual([]);
    expect(prod.violations.filter((v) => v.subject === '_INBOX.>')).toEqual([]);
  });
});
